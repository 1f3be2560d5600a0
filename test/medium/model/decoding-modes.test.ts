/**
 * Issue 11 with real parts: the tiny random BLIP bundle on ONNX Runtime (through the model thread), the
 * CaptionBatcher, the job processor and the Redis cache. diverse gives distinct captions, sample is
 * deterministic per seed and differs between seeds, every option is its own cache entry, and a batch
 * mixing modes answers each request as if run alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { captionCacheKey, normalizeOptions, withDerivedSeed } from '../../../src/cache/cache-key';
import { redisCaptionCache, type RedisCaptionCache } from '../../helpers/caption-caches';
import { ImagePreparer, sha256Hex } from '../../../src/image/image-preparer';
import { CaptionJobProcessor } from '../../../src/jobs/caption-job.processor';
import type { CaptionJobData } from '../../../src/jobs/caption-job.types';
import { CaptionBatcher } from '../../../src/model/caption-batcher';
import type { Caption, DecodeOptions, PreparedImage } from '../../../src/model/caption-model.port';
import { ModelSettings } from '../../../src/model/model.settings';
import { ModelBundleService } from '../../../src/model/bundle/model-bundle.service';
import { OnnxBlipModel } from '../../../src/model/onnx-blip.model';
import { imagesDir, tinyModelPath } from '../../helpers/paths';
import { sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';

let skip: string | undefined;
let model: OnnxBlipModel;
let cache: RedisCaptionCache;
let processor: CaptionJobProcessor;
const preparer = new ImagePreparer({ maxBytes: 20 << 20, maxPixels: 50_000_000, maxFrames: 64 });
const photos = readdirSync(join(imagesDir, 'photos'))
  .slice(0, 4)
  .map((f) => join(imagesDir, 'photos', f));
const images = new Map<string, { image: PreparedImage; sha256: string }>();

before(async () => {
  skip = await sharedRedisOrSkip();
  if (skip !== undefined) return;
  const settings = Object.assign(new ModelSettings(), { MODEL_PATH: tinyModelPath() });
  model = new OnnxBlipModel(settings, new ModelBundleService(settings));
  await model.onModuleInit();
  cache = redisCaptionCache(sharedRedisUrl, { prefix: `captioner:test:${randomUUID()}:` });
  processor = new CaptionJobProcessor(model, new CaptionBatcher(model, 8, 20), cache.cache, 60);
  for (const p of photos) {
    const bytes = readFileSync(p);
    images.set(p, { image: await preparer.prepare(bytes), sha256: sha256Hex(bytes) });
  }
});

after(async () => {
  if (skip !== undefined) return;
  await cache.close();
  await model.onModuleDestroy();
});

function job(file: string, options: DecodeOptions): CaptionJobData {
  const { image, sha256 } = images.get(file) ?? assert.fail(file);
  const o = withDerivedSeed(normalizeOptions(options), sha256);
  return {
    rgb: Buffer.from(image.rgb).toString('base64'),
    size: image.size,
    width: image.width,
    height: image.height,
    sha256,
    options: o,
    cacheKey: captionCacheKey(sha256, model.info().version, o),
    modelVersion: model.info().version,
    enqueuedAt: Date.now(),
  };
}

async function alone(file: string, options: DecodeOptions): Promise<Caption[]> {
  const [captions] = await model.caption([{ image: images.get(file)?.image ?? assert.fail(file), options }]);
  return captions;
}

function assertWellFormed(captions: Caption[], k: number, where: string): void {
  assert.ok(captions.length >= 1 && captions.length <= k, `${where}: ${captions.length} captions`);
  assert.equal(new Set(captions.map((c) => c.text)).size, captions.length, `${where}: texts repeat`);
  for (let i = 1; i < captions.length; i++) {
    assert.ok(captions[i - 1].confidence >= captions[i].confidence, `${where}: not ordered by confidence`);
  }
  for (const c of captions) assert.ok(c.confidence > 0 && c.confidence <= 1);
}

test('diverse: distinct texts, ordered by confidence, several per image', { timeout: 300_000 }, async (t) => {
  if (skip !== undefined) return t.skip(skip);
  let diverseTotal = 0;
  let beamTotal = 0;
  for (const p of photos) {
    const diverse = await alone(p, { decoding: 'diverse', numCaptions: 3, diversityPenalty: 2 });
    assertWellFormed(diverse, 3, `diverse ${p}`);
    diverseTotal += diverse.length;
    beamTotal += (await alone(p, { numCaptions: 3 })).length;
  }
  console.log(
    `# 3 captions asked of ${photos.length} images: diverse returned ${diverseTotal}, beam ${beamTotal}`,
  );
  assert.ok(
    diverseTotal > photos.length,
    `diverse returned only ${diverseTotal} captions for ${photos.length} images`,
  );
});

test(
  'sample: the same seed gives the same captions, different seeds differ, the derived seed is used',
  { timeout: 300_000 },
  async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const p = photos[0];
    const options = { decoding: 'sample' as const, numCaptions: 3, temperature: 1.5, topP: 0.95 };
    const first = await alone(p, { ...options, seed: 5 });
    assertWellFormed(first, 3, 'sample seed 5');
    assert.deepEqual(await alone(p, { ...options, seed: 5 }), first);
    const bySeed = new Set<string>();
    for (const seed of [1, 2, 3, 4]) bySeed.add(JSON.stringify(await alone(p, { ...options, seed })));
    assert.ok(bySeed.size >= 3, `4 seeds gave only ${bySeed.size} different answers`);
    const data = job(p, options);
    assert.equal(typeof data.options.seed, 'number');
    const result = await processor.process(data);
    assert.deepEqual(result.captions, await alone(p, { ...options, seed: data.options.seed }));
  },
);

test(
  'every option is its own cache entry; a batch mixing modes answers each as if run alone',
  { timeout: 300_000 },
  async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const p = photos[1];
    const variants: DecodeOptions[] = [
      { numCaptions: 2 },
      { numCaptions: 2, numBeams: 4 },
      { numCaptions: 2, maxNewTokens: 5 },
      { numCaptions: 2, minNewTokens: 8 },
      { numCaptions: 2, repetitionPenalty: 1.5 },
      { numCaptions: 2, lengthPenalty: 0.5 },
      { numCaptions: 2, decoding: 'diverse' },
      { numCaptions: 2, decoding: 'diverse', diversityPenalty: 3 },
      { numCaptions: 2, decoding: 'sample' },
      { numCaptions: 2, decoding: 'sample', seed: 9 },
      { numCaptions: 2, decoding: 'sample', seed: 9, topP: 0.5 },
      { numCaptions: 2, decoding: 'sample', seed: 9, temperature: 0.5 },
    ];
    const data = variants.map((o) => job(p, o));
    assert.equal(new Set(data.map((d) => d.cacheKey)).size, variants.length, 'one key per option set');
    const results = await Promise.all(data.map((d) => processor.process(d)));
    for (const [i, d] of data.entries()) {
      const expected = await alone(p, d.options);
      assert.deepEqual(results[i].captions, expected, JSON.stringify(d.options));
      assert.deepEqual((await cache.cache.get(d.cacheKey))?.captions, expected);
    }
    const short = results[2].captions;
    for (const c of short) assert.ok(c.text.split(' ').length <= 5, `max_new_tokens 5: ${c.text}`);
  },
);
