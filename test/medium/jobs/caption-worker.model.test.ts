/**
 * The worker's path with real parts: the tiny random BLIP bundle on ONNX Runtime, the CaptionBatcher,
 * BullMQ on a real Redis and the Redis cache. Concurrent jobs must form batches, and inference must not
 * hold the event loop (the BullMQ lock is renewed from it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { captionCacheKey, normalizeOptions } from '../../../src/cache/cache-key';
import { ImagePreparer, sha256Hex } from '../../../src/image/image-preparer';
import type { BullMqJobQueue } from '../../../src/jobs/bullmq-job-queue.adapter';
import { CaptionJobProcessor } from '../../../src/jobs/caption-job.processor';
import type { CaptionJobData } from '../../../src/jobs/caption-job.types';
import { CaptionBatcher } from '../../../src/model/caption-batcher';
import type { DecodeOptions } from '../../../src/model/caption-model.port';
import { ModelSettings } from '../../../src/model/model.settings';
import { ModelBundleService } from '../../../src/model/bundle/model-bundle.service';
import { OnnxBlipModel } from '../../../src/model/onnx-blip.model';
import { bullRig, type BullRig } from '../../helpers/bull-rig';
import { imagesDir, tinyModelPath } from '../../helpers/paths';
import { redisCaptionCache, type RedisCaptionCache } from '../../helpers/caption-caches';
import { sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';
import { waitFor } from '../../helpers/time';

let skip: string | undefined;
let model: OnnxBlipModel;
let cache: RedisCaptionCache;
let queue: BullMqJobQueue;
let rig: BullRig;
let processor: CaptionJobProcessor;
const batches: number[] = [];
const preparer = new ImagePreparer({ maxBytes: 20 << 20, maxPixels: 50_000_000, maxFrames: 64 });

before(async () => {
  skip = await sharedRedisOrSkip();
  if (skip !== undefined) return;
  const settings = Object.assign(new ModelSettings(), { MODEL_PATH: tinyModelPath() });
  model = new OnnxBlipModel(settings, new ModelBundleService(settings));
  await model.onModuleInit();
  const batcher = new CaptionBatcher(model, 4, 20);
  batcher.observe((size) => batches.push(size));
  cache = redisCaptionCache(sharedRedisUrl, { prefix: `captioner:test:${randomUUID()}:` });
  processor = new CaptionJobProcessor(model, batcher, cache.cache, 60);
  rig = await bullRig(processor, {
    url: sharedRedisUrl,
    jobs: { JOB_ATTEMPTS: 2, JOB_LOCK_DURATION_MS: 30_000, JOB_STALLED_INTERVAL_MS: 15_000 },
  });
  queue = rig.queue;
  await waitFor('the queue', () => queue.ping().then(() => true), 5000);
});

after(async () => {
  if (skip !== undefined) return;
  await rig.close();
  await cache.close();
  await model.onModuleDestroy();
});

async function job(file: string, options: DecodeOptions = {}): Promise<CaptionJobData> {
  const bytes = readFileSync(file);
  const image = await preparer.prepare(bytes);
  const sha256 = sha256Hex(bytes);
  const o = normalizeOptions(options);
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

const photos = readdirSync(join(imagesDir, 'photos'))
  .slice(0, 8)
  .map((f) => join(imagesDir, 'photos', f));

test(
  '8 different images at once: every one captioned, in batches, without holding the event loop',
  { timeout: 120_000 },
  async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const data = await Promise.all(photos.map((p) => job(p)));
    batches.length = 0;
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const started = Date.now();
    const jobs = await Promise.all(data.map((d) => queue.enqueue(d)));
    const states = await Promise.all(jobs.map((j) => queue.waitForResult(j, 60_000)));
    const ms = Date.now() - started;
    delay.disable();
    for (const s of states) {
      assert.equal(s.status, 'success');
      if (s.status !== 'success') continue;
      assert.equal(s.result.captions.length, 1);
      assert.equal(typeof s.result.captions[0].text, 'string'); // random weights may stop at once
      assert.ok(s.result.captions[0].confidence > 0 && s.result.captions[0].confidence <= 1);
      assert.equal(s.result.model.version, model.info().version);
    }
    assert.ok(Math.max(...batches) > 1, `batch sizes ${batches.join(',')}`);
    const maxDelayMs = delay.max / 1e6;
    console.log(
      `# 8 jobs in ${ms} ms, batch sizes ${batches.join(',')}, event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms max ${maxDelayMs.toFixed(1)} ms`,
    );
    // Inference runs in a worker thread; the loop (which renews the 30 s lock every 15 s) only pauses for
    // short main-thread work (~130-380 ms measured on this 2-CPU machine).
    assert.ok(maxDelayMs < 2000, `event loop held for ${maxDelayMs} ms`);
    // The worker wrote every answer to the cache under the loaded model's key.
    for (const d of data) assert.ok(await cache.cache.get(d.cacheKey));
  },
);

test(
  'conditional captioning and several captions with confidence, best first',
  { timeout: 60_000 },
  async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const prompted = await queue.waitForResult(
      await queue.enqueue(await job(photos[0], { prompt: 'a picture of' })),
      30_000,
    );
    assert.equal(prompted.status, 'success');
    if (prompted.status === 'success') assert.match(prompted.result.captions[0].text, /^a picture of/);
    const several = await queue.waitForResult(
      await queue.enqueue(await job(photos[1], { numCaptions: 3 })),
      30_000,
    );
    assert.equal(several.status, 'success');
    if (several.status !== 'success') return;
    const captions = several.result.captions;
    assert.equal(captions.length, 3);
    assert.equal(new Set(captions.map((c) => c.text)).size, 3);
    for (let i = 1; i < captions.length; i++) assert.ok(captions[i - 1].confidence >= captions[i].confidence);
  },
);

test(
  'a job whose payload does not fit the model fails at once with a clear reason',
  { timeout: 30_000 },
  async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const bad = { ...(await job(photos[2], { numCaptions: 2 })), size: 224 };
    const state = await queue.waitForResult(await queue.enqueue(bad), 10_000);
    assert.equal(state.status, 'failed');
    if (state.status === 'failed') {
      assert.equal(state.error.code, 'job.bad_payload', state.error.message);
      assert.match(state.error.message, /224px/);
    }
  },
);
