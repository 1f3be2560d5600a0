import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imagesDir as images } from '../../helpers/paths';
import { AppError } from '../../../src/common/app-error';
import { ImagePreparer, sha256Hex } from '../../../src/image/image-preparer';

const preparer = new ImagePreparer({ maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000, maxFrames: 64 });

async function statusOf(bytes: Uint8Array): Promise<number> {
  try {
    const decoded = await preparer.prepare(bytes);
    assert.equal(decoded.rgb.length, 384 * 384 * 3);
    return 200;
  } catch (err) {
    if (err instanceof AppError) return err.problem.status;
    throw err;
  }
}

test('every file in shared/images/bad is a clear 422, never an unmapped error', async () => {
  for (const f of readdirSync(join(images, 'bad'))) {
    assert.equal(await statusOf(readFileSync(join(images, 'bad', f))), 422, f);
  }
});

test('shared/images/formats: rasters decode, SVG is 415', async () => {
  for (const f of readdirSync(join(images, 'formats'))) {
    const expected = f.endsWith('.svg') ? 415 : 200;
    assert.equal(await statusOf(readFileSync(join(images, 'formats', f))), expected, f);
  }
});

test('non-images are 415, empty is 400, over the byte limit is 413', async () => {
  assert.equal(await statusOf(Buffer.from('%PDF-1.7\n%...............')), 415);
  assert.equal(await statusOf(Buffer.from('<html><body>hello</body></html>')), 415);
  assert.equal(await statusOf(Buffer.alloc(0)), 400);
  const small = new ImagePreparer({ maxBytes: 100, maxPixels: 10, maxFrames: 1 });
  await assert.rejects(
    small.prepare(Buffer.alloc(101, 0xff)),
    (e: unknown) => e instanceof AppError && e.problem.status === 413,
  );
});

test('EXIF orientation: reported size is after rotation', async () => {
  const d = await preparer.prepare(readFileSync(join(images, 'photos', 'Portrait_6.jpg')));
  assert.deepEqual([d.width, d.height], [450, 600]);
});

test('sha256Hex hashes the original bytes', () => {
  assert.equal(
    sha256Hex(Buffer.from('abc')),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});
