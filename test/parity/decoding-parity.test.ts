/**
 * decoding=diverse and decoding=sample against tools/blip-export/reference_decoding.py (the HF model's
 * forward pass and logits processors, group beam search ported from transformers 4.x, the SplitMix64
 * nucleus sampler of docs/decoding.md reimplemented in Python): every id identical on the tiny bundle in
 * fp32, prompted and unprompted, several seeds (issue 11).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BlipRuntime } from '../../src/model/blip-runtime';
import type { DecodeOptions } from '../../src/model/caption-model.port';
import {
  ensureTinyBundle,
  projectRoot,
  readPixels,
  runDecodingReference,
  runReference,
  sharedImages,
  type DecodingCase,
  type DecodingReference,
  type Reference,
} from './reference';

const bundle = process.env.PARITY_BUNDLE ?? join(projectRoot, 'models', 'test-tiny');
// The same reference run as parity.test.ts (it is cached): its pixel values feed both sides.
const prompts = ['', 'a picture of', 'a photography of'];
const imagePaths = ['photos', 'formats'].flatMap((dir) =>
  readdirSync(join(sharedImages, dir))
    .sort()
    .map((f) => join(sharedImages, dir, f)),
);
const IMAGES = 6;

const cases: DecodingCase[] = [
  ...['', 'a picture of'].flatMap((prompt): DecodingCase[] => [
    { prompt, decoding: 'diverse', num_captions: 3 },
    { prompt, decoding: 'diverse', num_captions: 2, num_beams: 4, diversity_penalty: 0.5 },
    { prompt, decoding: 'diverse', num_captions: 3, num_beams: 6, diversity_penalty: 2, length_penalty: 1.5 },
    { prompt, decoding: 'sample', num_captions: 3, seed: 1 },
    { prompt, decoding: 'sample', num_captions: 3, seed: 2 },
    { prompt, decoding: 'sample', num_captions: 2, seed: 4294967295, top_p: 0.5, temperature: 0.7 },
  ]),
  {
    prompt: '',
    decoding: 'diverse',
    num_captions: 2,
    repetition_penalty: 1.3,
    min_new_tokens: 4,
    max_new_tokens: 12,
  },
  {
    prompt: '',
    decoding: 'sample',
    num_captions: 3,
    seed: 123456,
    top_p: 1,
    temperature: 1.5,
    repetition_penalty: 1.2,
    min_new_tokens: 3,
  },
];

function toOptions(c: DecodingCase): DecodeOptions {
  return {
    decoding: c.decoding,
    numCaptions: c.num_captions,
    numBeams: c.num_beams,
    diversityPenalty: c.diversity_penalty,
    topP: c.top_p,
    temperature: c.temperature,
    seed: c.seed,
    maxNewTokens: c.max_new_tokens,
    minNewTokens: c.min_new_tokens,
    repetitionPenalty: c.repetition_penalty,
    lengthPenalty: c.length_penalty,
  };
}

let reference: Reference;
let decodingReference: DecodingReference;
let runtime: BlipRuntime;
let pixelFiles: string[];

before(async () => {
  ensureTinyBundle(bundle);
  reference = runReference(bundle, imagePaths, prompts, { numBeams: 3, numReturn: 3 });
  const usable = reference.images.filter((i) => i.error === null && i.pixel_values !== null).slice(0, IMAGES);
  pixelFiles = usable.map((i) => join(reference.outDir, i.pixel_values ?? ''));
  decodingReference = runDecodingReference(bundle, pixelFiles, cases);
  runtime = await BlipRuntime.load(bundle, {
    variant: 'fp32',
    executionProvider: 'cpu',
    intraOpThreads: 0,
    interOpThreads: 1,
  });
});

after(async () => {
  await runtime?.release();
});

test('the reference harness: its own forward-pass loop reproduces model.generate (greedy) everywhere', () => {
  const { equal, total } = decodingReference.harness_check;
  assert.ok(total >= IMAGES * 2, `only ${total} checks`);
  assert.equal(equal, total);
});

test('diverse and sample: every id identical to the Python reference; diverse scores within 1e-4', async () => {
  const usable = reference.images.filter((i) => i.error === null && i.pixel_values !== null).slice(0, IMAGES);
  let compared = 0;
  let maxScoreDiff = 0;
  const distinctSamples = new Set<string>();
  for (const [n, image] of usable.entries()) {
    const pixels = readPixels(reference, image);
    const refImage = decodingReference.images[n];
    assert.equal(refImage.pixels, pixelFiles[n]);
    for (const result of refImage.results) {
      const c = cases[result.case];
      const settings = runtime.resolveSettings(toOptions(c));
      const [ours] = await runtime.generate([pixels], [runtime.promptIds(c.prompt)], settings);
      const where = `image ${n} case ${result.case} ${JSON.stringify(c)}`;
      assert.deepEqual(
        ours.map((s) => s.ids),
        result.sequences,
        where,
      );
      ours.forEach((s, k) => {
        const diff = Math.abs(s.score - result.scores[k]);
        maxScoreDiff = Math.max(maxScoreDiff, diff);
        assert.ok(diff <= 1e-4, `${where} row ${k}: score ${s.score} vs ${result.scores[k]}`);
      });
      if (c.decoding === 'sample') for (const s of ours) distinctSamples.add(s.ids.join(' '));
      compared++;
    }
  }
  assert.equal(compared, IMAGES * cases.length);
  assert.ok(distinctSamples.size > IMAGES, 'samples must vary, or the test proves little');
  console.log(
    `# decoding parity: ${compared} cases (${IMAGES} images x ${cases.length} option sets, diverse and sample) identical ids; max |score diff| ${maxScoreDiff.toExponential(2)}; reference ${decodingReference.elapsed_s}s (${decodingReference.versions.transformers})`,
  );
});
