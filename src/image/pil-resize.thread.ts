/**
 * Worker thread body for resize-pool.ts: decodes with sharp and resizes with Pillow's bicubic, off the
 * event loop. Decoding here (not on the main thread) means the full-size RGB image is allocated once,
 * by libvips in this thread, and never copied across threads: a 49 MP decode costs about 1.1 x its RGB
 * size instead of 3 x (decoded buffer, structured-clone copy, the worker's copy).
 */
import { parentPort } from 'node:worker_threads';
import sharp, { type SharpOptions } from 'sharp';
import { pilResizeBicubic } from './pil-resize';

export interface DecodeTask {
  id: number;
  bytes: Uint8Array;
  input: SharpOptions;
  outWidth: number;
  outHeight: number;
}

sharp.concurrency(1);
sharp.cache(false);

async function decodeAndResize(task: DecodeTask): Promise<{ out: Uint8Array; decodedBytes: number }> {
  const { data, info } = await sharp(task.bytes, task.input)
    .autoOrient()
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  // HEIF decodes its primary image, which may differ from the header's first one: the output decides.
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new Error(`unexpected decoder output: ${info.channels} channels, ${data.length} bytes`);
  }
  const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return {
    out: pilResizeBicubic(rgb, info.width, info.height, task.outWidth, task.outHeight),
    decodedBytes: data.length,
  };
}

parentPort?.on('message', (task: DecodeTask) => {
  decodeAndResize(task).then(
    ({ out, decodedBytes }) =>
      parentPort?.postMessage({ id: task.id, out, decodedBytes }, [out.buffer as ArrayBuffer]),
    (err: unknown) =>
      parentPort?.postMessage({ id: task.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
