/** The runtime refuses a bundle that does not match its manifest, naming the file (real tiny bundle). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BlipRuntime } from '../../../src/model/blip-runtime';
import { ModelError, ModelErrorCode } from '../../../src/model/model.errors';
import { ThreadedRuntime } from '../../../src/model/thread/threaded-runtime';

const bundle =
  process.env.TEST_MODEL_PATH ?? resolve(__dirname, '..', '..', '..', '..', 'models', 'test-tiny');
const options = {
  variant: 'fp32' as const,
  executionProvider: 'cpu' as const,
  intraOpThreads: 1,
  interOpThreads: 1,
};

function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'captioner-bundle-'));
  cpSync(bundle, dir, { recursive: true });
  return dir;
}

const refusal = (file: string) => (err: unknown) =>
  err instanceof ModelError && err.code === ModelErrorCode.BundleInvalid && err.message.includes(file);

test('an altered file is refused with its name', async () => {
  const dir = copy();
  try {
    appendFileSync(join(dir, 'vocab.txt'), 'x');
    await assert.rejects(BlipRuntime.load(dir, options), refusal('vocab.txt'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing graph is refused with its name, also through the model thread', async () => {
  const dir = copy();
  try {
    rmSync(join(dir, 'text_decoder.onnx'));
    await assert.rejects(BlipRuntime.load(dir, options), refusal('text_decoder.onnx'));
    const threaded = new ThreadedRuntime(dir, options);
    await assert.rejects(threaded.start(), refusal('text_decoder.onnx'));
    await threaded.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory without manifest.json is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'captioner-empty-'));
  try {
    await assert.rejects(BlipRuntime.load(dir, options), refusal('manifest.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the threaded runtime captions, and a bad request fails alone with a coded error', async () => {
  const runtime = new ThreadedRuntime(bundle, options);
  try {
    const info = await runtime.start();
    const size = info.imageSize;
    const image = { rgb: new Uint8Array(size * size * 3).fill(90), size, width: size, height: size };
    const [captions] = await runtime.caption([{ image, options: { numCaptions: 2 } }]);
    assert.ok(captions.length >= 1 && captions.length <= 2);
    for (const c of captions) assert.ok(c.confidence > 0 && c.confidence <= 1);
    await assert.rejects(
      runtime.caption([{ image, options: { numCaptions: 9 } }]),
      (e: unknown) => e instanceof ModelError && e.code === ModelErrorCode.BadOptions,
    );
    const [again] = await runtime.caption([{ image, options: { numCaptions: 2 } }]);
    assert.deepEqual(again, captions);
  } finally {
    await runtime.close();
  }
});
