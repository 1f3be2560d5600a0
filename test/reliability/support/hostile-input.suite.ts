/**
 * Issue 6, hostile input 8-10 against the API processes of an AttackStack: the shared bad images plus
 * generated ones, a seeded fuzz run of mutated images, and the upload limits and content types. No 5xx,
 * no crash, a clear problem+json for every refusal, the API's memory bounded (printed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { imagesDir } from '../../helpers/paths';
import { metric } from '../../helpers/processes';
import { waitFor } from '../../helpers/time';
import type { Answer } from '../../e2e/support/http';
import { MAX_UPLOAD_BYTES, type AttackStack } from './attack-stack';
import { assertClientProblem, assertProblem } from './client';
import {
  corruptExifJpeg,
  fakeJpegHtml,
  freshPhoto,
  fuzzSources,
  hugeGif,
  hugePng,
  manyFrameGif,
  mutate,
  POLYGLOT_MARKER,
  polyglotJpegHtml,
  prng,
  randomBuffer,
} from './images';
import { sha256 } from './jobs';
import { figure, memoryOf } from './stack';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FUZZ_COUNT = Number(process.env.FUZZ_COUNT ?? 2000);
const CONCURRENCY = 4;
/** Tries of each request refused from its headers alone while its body is still on the way. */
const EARLY_TRIES = 10;
const BURST = 8;

function peaks(s: AttackStack): string {
  return s.apis.map((p, i) => `API ${i + 1} ${memoryOf(p).peakMiB.toFixed(0)} MiB`).join(', ');
}

export function hostileInputSuite(stack: () => AttackStack): void {
  test(
    '8. every bad and generated hostile image: a clear 4xx problem, no 5xx, memory bounded',
    { timeout: 240_000 },
    async () => {
      const s = stack();
      const auth = await s.auth('hostile');
      const bad = join(imagesDir, 'bad');
      const refused: [string, Buffer][] = [
        ...readdirSync(bad).map((f): [string, Buffer] => [`bad/${f}`, readFileSync(join(bad, f))]),
        ['PNG declaring 30000x30000', hugePng()],
        ['GIF declaring 30000x30000', hugeGif()],
        ['GIF of 1000 frames', manyFrameGif(1000)],
        ['zero bytes', Buffer.alloc(0)],
        ['1 MB of random bytes', randomBuffer(prng(SEED), 1 << 20)],
        ['JPEG magic followed by HTML', fakeJpegHtml()],
      ];
      // Valid JPEGs with hostile extras: captioned as the image they are, or refused, never a 5xx.
      const tolerated: [string, Buffer][] = [
        ['JPEG/HTML polyglot (HTML in a comment and after EOI)', polyglotJpegHtml()],
        ['JPEG with a corrupt EXIF block', corruptExifJpeg()],
      ];
      const before = memoryOf(s.apis[0]);
      const seen: string[] = [];
      for (const [name, bytes] of [...refused, ...tolerated]) {
        const multipart = await s.clients[0].upload(auth, bytes);
        const text = bytes.toString('base64');
        if (text.length > 3000) s.imageFragments.push(text.slice(2000, 2064));
        const json = await s.clients[0].json(auth, { image_base64: text });
        for (const a of [multipart, json]) {
          assert.ok(a.status < 500, `${name}: ${a.status} ${JSON.stringify(a.body)}`);
          assert.ok(!JSON.stringify(a.body).includes(POLYGLOT_MARKER), `${name}: the answer echoes the HTML`);
          if (refused.some(([n]) => n === name) || a.status !== 200) assertClientProblem(a, name);
        }
        assert.equal(multipart.status, json.status, `${name}: multipart and JSON disagree`);
        seen.push(
          `${name} ${multipart.status}${multipart.status >= 400 ? ` ${String(multipart.body.type).split(':').pop()}` : ''}`,
        );
      }
      const after = memoryOf(s.apis[0]);
      assert.ok(s.apis.every((p) => p.running));
      figure(`hostile images: ${seen.join('; ')}`);
      figure(
        `hostile images: API RSS ${before.rssMiB.toFixed(0)} -> ${after.rssMiB.toFixed(0)} MiB, peak ${before.peakMiB.toFixed(0)} -> ${after.peakMiB.toFixed(0)} MiB`,
      );
      assert.ok(
        after.peakMiB - before.peakMiB < 256,
        `the API's peak memory grew by ${after.peakMiB - before.peakMiB} MiB`,
      );
    },
  );

  test(
    '8. a burst of large images: the API memory does not grow with the number of requests',
    { timeout: 240_000 },
    async () => {
      const s = stack();
      const auth = await s.auth('big-images');
      // 4000x4000 = 16 MP: ~100 kB as a JPEG, 48 MB once decoded (the limit allows 50 MP).
      const big = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#808080' } })
        .jpeg({ quality: 60 })
        .toBuffer();
      const api = s.apis[1];
      const burst = async (n: number): Promise<number> => {
        const started = Date.now();
        const answers = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            s.clients[1].upload(auth, Buffer.concat([big, Buffer.from(`#${n}-${i}-${Date.now()}`)]), {
              mode: 'async',
            }),
          ),
        );
        for (const a of answers) assert.equal(a.status, 202, JSON.stringify(a.body));
        return Date.now() - started;
      };
      const h0 = memoryOf(api).peakMiB;
      const ms2 = await burst(2);
      const h1 = memoryOf(api).peakMiB;
      const ms12 = await burst(BURST);
      const h2 = memoryOf(api).peakMiB;
      figure(
        `large images: API peak RSS ${h0.toFixed(0)} MiB, ${h1.toFixed(0)} after 2 concurrent 4000x4000 JPEGs (${(big.length / 1024).toFixed(0)} kB each, ${ms2} ms), ${h2.toFixed(0)} after ${BURST} concurrent (${ms12} ms)`,
      );
      // If every request held its decoded image at once, the burst would add about BURST/2 times what two
      // requests added; decodes bounded to a few at a time add little or nothing.
      const perPair = Math.max(h1 - h0, 48);
      assert.ok(
        h2 - h0 < 3 * perPair,
        `peak RSS grew by ${(h2 - h0).toFixed(0)} MiB for ${BURST} requests (2 requests: ${(h1 - h0).toFixed(0)} MiB)`,
      );
    },
  );

  test(
    `9. fuzz: ${FUZZ_COUNT} mutated images through both APIs, zero 5xx, zero crashes (seed ${SEED})`,
    { timeout: 420_000 },
    async () => {
      const s = stack();
      figure(`fuzz: seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_COUNT=${FUZZ_COUNT} replays it)`);
      const rand = prng(SEED);
      const sources = fuzzSources();
      const cases = Array.from({ length: FUZZ_COUNT }, () => mutate(sources, rand));
      const failedBefore = await metric(s.worker, 'captioner_jobs_total', { outcome: 'failed' });
      const statuses = new Map<number, number>();
      const serverErrors: string[] = [];
      let next = 0;
      const started = Date.now();
      const run = async (lane: number): Promise<void> => {
        for (let i = next++; i < cases.length; i = next++) {
          // A fresh subject every 30 requests keeps the fuzz under the per-subject rate limit.
          const auth = await s.auth(`fuzz-${Math.floor(i / 30)}`);
          let a: Answer;
          try {
            a = await s.clients[lane % 2].upload(auth, cases[i].bytes, { mode: 'async' });
          } catch (err) {
            serverErrors.push(`#${i} ${cases[i].recipe}: ${(err as Error).message}`);
            continue;
          }
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          if (a.status >= 500)
            serverErrors.push(`#${i} ${cases[i].recipe}: ${a.status} ${JSON.stringify(a.body)}`);
          else if (a.status === 202) s.jobIds.push(String(a.body.job_id));
          else if (a.status !== 200) assertProblem(a, a.status);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => run(lane)));
      const seconds = (Date.now() - started) / 1000;
      await waitFor(
        'the worker to finish the accepted mutants',
        async () => {
          const depth = await metric(s.worker, 'captioner_queue_depth', { state: 'waiting' });
          const active = await metric(s.worker, 'captioner_queue_depth', { state: 'active' });
          return depth + active === 0 ? true : undefined;
        },
        240_000,
        500,
      );
      const failed = (await metric(s.worker, 'captioner_jobs_total', { outcome: 'failed' })) - failedBefore;
      const histogram = [...statuses]
        .sort(([a], [b]) => a - b)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      figure(
        `fuzz: ${FUZZ_COUNT} mutants in ${seconds.toFixed(0)} s -> ${histogram}; worker jobs failed: ${failed}; ${peaks(s)}, worker ${memoryOf(s.worker).peakMiB.toFixed(0)} MiB peak`,
      );
      assert.deepEqual(serverErrors, [], `seed ${SEED}`);
      assert.equal(failed, 0, `accepted mutants failed in the worker (seed ${SEED})`);
      assert.ok(
        [...s.apis, s.worker].every((p) => p.running),
        'a process died',
      );
    },
  );

  test(
    '10. uploads: limits without truncation, extra parts refused, wrong content types 415',
    { timeout: 180_000 },
    async () => {
      const s = stack();
      const c = s.clients[1];
      const auth = await s.auth('uploads');
      const photo = freshPhoto('concert.jpg');
      const atLimit = Buffer.concat([photo, Buffer.alloc(MAX_UPLOAD_BYTES - photo.length, 0x20)]);
      const overLimit = Buffer.concat([atLimit, Buffer.from([0x20])]);
      s.imageFragments.push(atLimit.toString('base64').slice(100, 164));
      // At the limit: accepted whole (the sha256 is of every byte sent), as multipart and as base64.
      const whole = await c.upload(auth, atLimit);
      assert.equal(whole.status, 200, JSON.stringify(whole.body));
      assert.equal((whole.body.image as { sha256: string }).sha256, sha256(atLimit));
      const wholeJson = await c.json(auth, { image_base64: atLimit.toString('base64') });
      assert.equal((wholeJson.body.image as { sha256: string }).sha256, sha256(atLimit));
      // One byte over: 413, never a truncated image.
      assertProblem(await c.upload(auth, overLimit), 413);
      assertProblem(await c.json(auth, { image_base64: overLimit.toString('base64') }), 413);
      // Refused from the headers while the client is still sending (a Content-Length over the limit, no
      // token): the answer arrives every time, never a reset (src/bootstrap/lingering-close.ts).
      const oversized = { image_base64: 'QUJD', prompt: 'x'.repeat(4 * MAX_UPLOAD_BYTES) };
      const early = { 413: 0, 401: 0 };
      for (let i = 0; i < EARLY_TRIES; i++) {
        assertProblem(await s.clients[i % 2].json(auth, oversized), 413);
        early[413] += 1;
        assertProblem(await s.clients[i % 2].json({}, oversized), 401);
        early[401] += 1;
      }
      // Extra parts and fields.
      const extraFile = await c.upload(auth, photo, {}, [{ name: 'image2', filename: 'b.jpg', data: photo }]);
      assertClientProblem(extraFile, 'a second file');
      assertProblem(await c.upload(auth, photo, { callback_url: 'http://x' }), 400);
      assertProblem(
        await c.upload(auth, photo, {}, [
          { name: 'prompt', value: 'a' },
          { name: 'prompt', value: 'b' },
        ]),
        400,
      );
      assertProblem(await c.json(auth, { image_base64: photo.toString('base64'), admin: true }), 400);
      // Wrong content types.
      const types = [
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/xml',
        'application/octet-stream',
        'image/jpeg',
        'multipart/mixed; boundary=x',
      ];
      for (const type of types) {
        const a = await c.request('POST', '/api/v1/caption', {
          headers: { ...auth, 'content-type': type },
          body: photo,
        });
        assertProblem(a, 415);
      }
      figure(
        `uploads: ${MAX_UPLOAD_BYTES} bytes accepted whole (multipart and base64), +1 byte 413 both ways; ${4 * MAX_UPLOAD_BYTES}-byte bodies refused from the headers answered ${early[413]}/${EARLY_TRIES} 413 (token) and ${early[401]}/${EARLY_TRIES} 401 (none), no reset; extra file ${extraFile.status}, unknown/repeated fields 400; ${types.length} wrong content types 415`,
      );
    },
  );
}
