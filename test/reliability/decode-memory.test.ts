/**
 * Issue 12, finding 8: decodes admitted by memory. An embedded API with a 600 MB decode budget takes
 * eight concurrent ~49 MP uploads (PNG and TIFF, each distinct): its peak RSS (VmHWM) stays under the
 * RSS it had before plus the budget, and every answer is 200, 422 or 503 (503 with Retry-After when no
 * decode memory frees up within the admission wait). An image whose decode alone needs more than the
 * whole budget is a 422 that says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { bearer } from '../helpers/tokens';
import { baseEnv } from '../helpers/processes';
import { assertProblem, CheckedClient } from './support/client';
import { api, figure, memoryOf, privateModel, stopAll } from './support/stack';
import type { ServiceProcess } from '../helpers/processes';

const BUDGET_MB = 600;
const SIDE = 7000; // 49 MP, under the 50 MP default of MAX_IMAGE_PIXELS
const BURST = 8;

let server: ServiceProcess;

/** A flat 7000x7000 image with a random 64x64 tile at a random place: ~220 kB, distinct bytes. */
async function bigImage(format: 'png' | 'tiff'): Promise<Buffer> {
  const tile = await sharp(randomBytes(64 * 64 * 3), { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
  const at = (n: number): number => Math.floor(Math.random() * (SIDE - 64 - n));
  const img = sharp({ create: { width: SIDE, height: SIDE, channels: 3, background: '#5a8cc8' } }).composite([
    { input: tile, left: at(0), top: at(0) },
  ]);
  return format === 'png'
    ? img.png({ compressionLevel: 6 }).toBuffer()
    : img.tiff({ compression: 'deflate' }).toBuffer();
}

before(async () => {
  server = await api(
    baseEnv({
      MODEL_PATH: await privateModel(),
      DECODE_MEMORY_BUDGET_MB: String(BUDGET_MB),
      DECODE_ADMISSION_TIMEOUT_MS: '8000',
    }),
  );
});

after(async () => {
  await stopAll();
});

test(
  `finding 8: ${BURST} concurrent 49 MP uploads stay within the decode budget; answers 200, 422 or 503 only`,
  { timeout: 600_000 },
  async () => {
    const client = new CheckedClient(server.url);
    const auth = await bearer('big-decodes', 'caption:write');
    const images = await Promise.all(
      Array.from({ length: BURST }, (_, i) => bigImage(i % 2 === 0 ? 'png' : 'tiff')),
    );
    const small = await client.upload(
      auth,
      await sharp({ create: { width: 64, height: 48, channels: 3, background: '#123456' } })
        .png()
        .toBuffer(),
    );
    assert.equal(small.status, 200, JSON.stringify(small.body));
    const idle = memoryOf(server);
    // One large image alone first: its memory must be given back (the resize worker is recycled).
    const warm = await client.upload(auth, await bigImage('png'));
    assert.equal(warm.status, 200, JSON.stringify(warm.body));
    const before = memoryOf(server);
    const started = Date.now();
    const answers = await Promise.all(images.map((img) => client.upload(auth, img)));
    const ms = Date.now() - started;
    const after = memoryOf(server);
    const counts = new Map<number, number>();
    for (const a of answers) counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
    for (const a of answers) {
      assert.ok([200, 422, 503].includes(a.status), `${a.status}: ${JSON.stringify(a.body)}`);
      if (a.status === 503) {
        assertProblem(a, 503);
        assert.match(String(a.body.type), /image\.decode_busy$/);
        assert.match(a.headers.get('retry-after') ?? '', /^\d+$/);
      }
    }
    assert.ok((counts.get(200) ?? 0) >= 1, 'no upload of the burst was captioned');
    figure(
      `decode memory: ${BURST} concurrent ${SIDE}x${SIDE} (PNG + TIFF, ${(images[0].length / 1024).toFixed(0)} kB) in ${ms} ms: ${[...counts].map(([s, n]) => `${s}: ${n}`).join(', ')}; API RSS idle ${idle.rssMiB.toFixed(0)} MiB, ${before.rssMiB.toFixed(0)} after one alone (VmHWM ${before.peakMiB.toFixed(0)}), VmHWM after ${after.peakMiB.toFixed(0)} MiB, budget ${BUDGET_MB} MB`,
    );
    const limitMiB = idle.rssMiB + (BUDGET_MB * 1e6) / (1024 * 1024);
    assert.ok(
      after.peakMiB <= limitMiB,
      `peak RSS ${after.peakMiB.toFixed(0)} MiB is over the idle RSS (${idle.rssMiB.toFixed(0)}) plus the budget`,
    );
    assert.ok(server.running, 'the API died');
  },
);

test(
  'finding 8: an image whose decode alone needs more than the whole budget is a 422 that says so',
  { timeout: 300_000 },
  async () => {
    const client = new CheckedClient(server.url);
    const auth = await bearer('big-decodes', 'caption:write');
    // 49 MP, 16-bit RGBA, interlaced: libvips holds a whole 8-byte-a-pixel copy: about 650 MB.
    const huge = await sharp({
      create: { width: SIDE, height: SIDE, channels: 4, background: { r: 9, g: 99, b: 199, alpha: 0.5 } },
    })
      .toColourspace('rgb16')
      .png({ progressive: true })
      .toBuffer();
    const a = await client.upload(auth, huge);
    assertProblem(a, 422);
    assert.match(
      String(a.body.detail),
      /decoding it needs about \d+ MB and this server decodes at most \d+ MB/,
    );
    figure(`decode memory: a 16-bit RGBA interlaced ${SIDE}x${SIDE} PNG: 422 (${String(a.body.detail)})`);
  },
);
