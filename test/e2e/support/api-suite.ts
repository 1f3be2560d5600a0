/**
 * The API test suite both modes pass (ARCHITECTURE 1: embedded mode "passes the same API test suite as
 * queue mode"): captions over real HTTP with the real tiny model, cache, async jobs, dedup, hostile
 * input, image_url, auth basics and job ownership.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoopbackServer } from '../../helpers/image-server';
import { imagesDir } from '../../helpers/paths';
import { metric, type ServiceProcess } from '../../helpers/processes';
import { bearer, token, unsignedToken } from '../../helpers/tokens';
import { ApiClient, type Answer } from './http';

export interface Stack {
  mode: 'embedded' | 'queue';
  api: ServiceProcess;
  /** The process that runs inference: the worker in queue mode, the API in embedded mode. */
  inference: ServiceProcess;
  allowed: LoopbackServer;
  trap: LoopbackServer;
  maxUploadBytes: number;
  /** RATE_LIMIT_LIMIT of the API (requests per subject per window). */
  rateLimit: number;
}

const photos = join(imagesDir, 'photos');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const subject = (): string => `e2e-${randomUUID()}`;

/** A fresh image no other test (or earlier run) has sent: a photo with a random tail the decoder ignores. */
function freshJpeg(name = '320x240.jpg'): Buffer {
  return Buffer.concat([readFileSync(join(photos, name)), randomBytes(16)]);
}

export function assertProblem(a: Answer, status: number, detail?: RegExp): void {
  assert.equal(a.status, status, `expected ${status}, got ${a.status}: ${JSON.stringify(a.body)}`);
  assert.match(a.headers.get('content-type') ?? '', /^application\/problem\+json/);
  for (const k of ['type', 'title', 'status', 'detail']) assert.ok(k in a.body, `problem without ${k}`);
  assert.equal(a.body.status, status);
  if (detail !== undefined) assert.match(String(a.body.detail), detail);
}

export function assertSuccess(a: Answer, image?: Buffer): void {
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const b = a.body as {
    status: string;
    captions: { text: string; confidence: number }[];
    model: { id: string; version: string };
    cached: boolean;
    image: { sha256: string; width: number; height: number };
  };
  assert.deepEqual(Object.keys(b).sort(), ['cached', 'captions', 'image', 'model', 'status']);
  assert.equal(b.status, 'success');
  assert.ok(b.captions.length >= 1);
  for (const c of b.captions) {
    assert.equal(typeof c.text, 'string');
    assert.ok(c.confidence > 0 && c.confidence <= 1, `confidence ${c.confidence}`);
  }
  assert.equal(typeof b.model.id, 'string');
  assert.match(b.model.version, /^\S+$/);
  assert.equal(typeof b.cached, 'boolean');
  if (image !== undefined) assert.equal(b.image.sha256, sha256(image));
}

export function apiSuite(stack: () => Stack): void {
  const client = (): ApiClient => new ApiClient(stack().api.url);
  const t = (name: string, fn: () => Promise<void>): void => {
    test(name, { timeout: 120_000 }, fn);
  };

  t('unconditional caption: the 200 body of the contract', async () => {
    const image = freshJpeg();
    const a = await client().upload(await bearer(subject()), image);
    assertSuccess(a, image);
    assert.equal(a.body.cached, false);
    assert.deepEqual(a.body.image, { sha256: sha256(image), width: 320, height: 240 });
  });

  t('conditional caption from JSON base64: the caption starts with the prompt', async () => {
    const image = freshJpeg('Landscape_2.jpg');
    const a = await client().json(await bearer(subject()), {
      image_base64: image.toString('base64'),
      prompt: 'a picture of',
    });
    assertSuccess(a, image);
    const captions = a.body.captions as { text: string }[];
    assert.match(captions[0].text, /^a picture of/);
  });

  t('several captions: distinct, each with a confidence, best first', async () => {
    const a = await client().upload(await bearer(subject()), freshJpeg('Landscape_3.jpg'), {
      num_captions: '3',
    });
    assertSuccess(a);
    const captions = a.body.captions as { text: string; confidence: number }[];
    assert.equal(captions.length, 3);
    assert.equal(new Set(captions.map((c) => c.text)).size, 3);
    for (let i = 1; i < 3; i++) assert.ok(captions[i - 1].confidence >= captions[i].confidence);
  });

  t('the same image and options again: a cache hit with the same captions', async () => {
    const image = freshJpeg('Portrait_1.jpg');
    const first = await client().upload(await bearer(subject()), image, { num_captions: '2' });
    assertSuccess(first, image);
    const second = await client().upload(await bearer(subject()), image, { num_captions: '2' });
    assertSuccess(second, image);
    assert.equal(second.body.cached, true);
    assert.deepEqual(second.body.captions, first.body.captions);
    // Other options are another answer.
    const other = await client().upload(await bearer(subject()), image, { num_captions: '1' });
    assert.equal(other.body.cached, false);
  });

  t('async: 202 with Location; the owner gets the 200 body, another subject 404', async () => {
    const owner = await bearer(subject());
    const image = freshJpeg('Landscape_4.jpg');
    const accepted = await client().upload(owner, image, { mode: 'async' });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.deepEqual(Object.keys(accepted.body).sort(), ['estimated_time_seconds', 'job_id', 'status']);
    assert.equal(accepted.body.status, 'processing');
    const jobId = String(accepted.body.job_id);
    assert.match(jobId, UUID);
    assert.equal(accepted.headers.get('location'), `/api/v1/caption/${jobId}`);
    const done = await client().settle(owner, jobId);
    assert.equal(done.status, 200);
    assert.equal(done.body.status, 'success');
    assert.equal(done.body.job_id, jobId);
    assert.equal((done.body.image as { sha256: string }).sha256, sha256(image));
    assertProblem(await client().job(await bearer(subject()), jobId), 404);
    assertProblem(await client().job(owner, randomUUID()), 404);
    assertProblem(await client().job(owner, 'not-a-job'), 404);
  });

  t(
    'lifecycle: Retry-After on 202, Prefer wait echoed, job times, cancel owner-only and 409 once finished',
    async () => {
      const owner = await bearer(subject());
      const image = freshJpeg('Landscape_5.jpg');
      const accepted = await client().json(
        owner,
        { image_base64: image.toString('base64') },
        { prefer: 'respond-async, wait=0' },
      );
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      assert.match(accepted.headers.get('retry-after') ?? '', /^([1-9]|10)$/);
      assert.equal(accepted.headers.get('preference-applied'), 'respond-async, wait=0');
      const jobId = String(accepted.body.job_id);
      const done = await client().settle(owner, jobId);
      assert.equal(done.body.status, 'success', JSON.stringify(done.body));
      for (const k of ['created_at', 'started_at', 'completed_at'])
        assert.match(String(done.body[k]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, k);
      const metrics = done.body.metrics as { queue_seconds: number; inference_seconds: number };
      assert.ok(metrics.queue_seconds >= 0 && metrics.inference_seconds >= 0, JSON.stringify(metrics));
      const cancel = (auth: Record<string, string>, id: string): Promise<Answer> =>
        client().request('POST', `/api/v1/caption/${id}/cancel`, { headers: auth });
      assertProblem(await cancel(await bearer(subject()), jobId), 404);
      const refused = await cancel(owner, jobId);
      assertProblem(refused, 409, /success/);
      assert.equal(refused.body.job_status, 'success');
      // A sync request with a short wait is answered (it is small), and the applied wait is echoed.
      const waited = await client().upload(owner, freshJpeg('Landscape_5.jpg'), {}, [], {
        prefer: 'wait=60',
      });
      assert.ok(waited.status === 200 || waited.status === 202, JSON.stringify(waited.body));
      assert.match(waited.headers.get('preference-applied') ?? '', /^wait=\d+$/);
      assertProblem(
        await client().upload(owner, freshJpeg(), {}, [], { prefer: 'wait=soon' }),
        400,
        /Prefer: wait/,
      );
    },
  );

  t(
    'OpenAPI documents the lifecycle: cancel, job statuses with examples, Prefer, Retry-After, webhooks',
    async () => {
      const a = await client().request('GET', '/docs-json');
      assert.equal(a.status, 200);
      const doc = a.body as {
        paths: Record<string, Record<string, { responses: Record<string, Record<string, unknown>> }>>;
        components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> };
      };
      const cancel = doc.paths['/api/v1/caption/{job_id}/cancel'].post;
      for (const status of ['200', '404', '409']) assert.ok(cancel.responses[status], status);
      const get = doc.paths['/api/v1/caption/{job_id}'].get.responses['200'];
      const examples = (get.content as Record<string, { examples: Record<string, unknown> }>)[
        'application/json'
      ].examples;
      for (const k of ['processing', 'success', 'failed', 'canceled']) assert.ok(examples[k], k);
      assert.ok((get.headers as Record<string, unknown>)['Retry-After']);
      const accepted = doc.paths['/api/v1/caption'].post.responses['202'];
      assert.ok((accepted.headers as Record<string, unknown>)['Retry-After']);
      assert.deepEqual(doc.components.schemas.JobStatusDto.properties.status.enum, [
        'processing',
        'success',
        'failed',
        'canceled',
      ]);
      for (const k of ['created_at', 'started_at', 'completed_at', 'metrics', 'queue_position', 'webhook'])
        assert.ok(doc.components.schemas.JobStatusDto.properties[k], k);
      assert.ok(doc.components.schemas.CaptionJsonRequestDto.properties.webhook_url);
      assert.ok(doc.components.schemas.CaptionJsonRequestDto.properties.webhook_events);
    },
  );

  t('Prefer: respond-async selects async for JSON too', async () => {
    const owner = await bearer(subject());
    const a = await client().json(
      owner,
      { image_base64: freshJpeg('Landscape_5.jpg').toString('base64') },
      { prefer: 'respond-async' },
    );
    assert.equal(a.status, 202);
    assert.equal((await client().settle(owner, String(a.body.job_id))).body.status, 'success');
  });

  t('20 concurrent identical uploads cause one inference', async () => {
    const image = freshJpeg('Landscape_6.jpg');
    const inference = stack().inference;
    const before = await metric(inference, 'captioner_batch_size_sum');
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () =>
        client().upload(await bearer(subject()), image, { prompt: 'a photo of' }),
      ),
    );
    for (const a of answers) assertSuccess(a, image);
    const after = await metric(inference, 'captioner_batch_size_sum');
    assert.equal(after - before, 1, `images inferred: ${after - before}`);
  });

  t('Cache-Status on every answer; Cache-Control: no-cache recomputes and overwrites', async () => {
    const auth = await bearer(subject());
    const image = freshJpeg('Portrait_6.jpg');
    const inferred = (): Promise<number> => metric(stack().inference, 'captioner_batch_size_sum');
    const start = await inferred();
    const first = await client().upload(auth, image);
    assertSuccess(first, image);
    assert.equal(first.headers.get('cache-status'), 'captioner; fwd=miss; stored');
    const hit = await client().upload(auth, image);
    assert.equal(hit.headers.get('cache-status'), 'captioner; hit');
    assert.equal(hit.body.cached, true);
    assert.equal((await inferred()) - start, 1);
    const fresh = await client().upload({ ...auth, 'cache-control': 'no-cache' }, image);
    assertSuccess(fresh, image);
    assert.equal(fresh.headers.get('cache-status'), 'captioner; fwd=bypass; stored');
    assert.equal(fresh.body.cached, false);
    assert.equal((await inferred()) - start, 2, 'no-cache ran the model again');
    const after = await client().upload(auth, image);
    assert.equal(after.headers.get('cache-status'), 'captioner; hit');
    assert.deepEqual(after.body.captions, fresh.body.captions);
    const accepted = await client().upload(auth, freshJpeg('Portrait_6.jpg'), { mode: 'async' });
    assert.equal(accepted.status, 202);
    assert.equal(accepted.headers.get('cache-status'), 'captioner; fwd=miss');
    await client().settle(auth, String(accepted.body.job_id));
  });

  t('Idempotency-Key: replayed answers, 422 for another request, 400 for a malformed key', async () => {
    const auth = await bearer(subject());
    const image = freshJpeg('Landscape_5.jpg');
    const key = { 'idempotency-key': `"${randomUUID()}"` };
    const first = await client().upload({ ...auth, ...key }, image);
    assertSuccess(first, image);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const replay = await client().upload({ ...auth, ...key }, image);
    assert.equal(replay.status, 200);
    assert.deepEqual(replay.body, first.body);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.headers.get('cache-status'), first.headers.get('cache-status'));
    assertProblem(
      await client().upload({ ...auth, ...key }, image, { num_captions: '2' }),
      422,
      /different request/,
    );
    // Per subject: another client's identical key is its own.
    const other = await client().upload({ ...(await bearer(subject())), ...key }, image);
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('idempotent-replayed'), null);
    // An async request replays its job id.
    const asyncKey = { 'idempotency-key': randomUUID() };
    const body = { image_base64: freshJpeg('Landscape_5.jpg').toString('base64'), mode: 'async' };
    const accepted = await client().json(auth, body, asyncKey);
    assert.equal(accepted.status, 202);
    const again = await client().json(auth, body, asyncKey);
    assert.equal(again.status, 202);
    assert.equal(again.body.job_id, accepted.body.job_id);
    assert.equal(again.headers.get('location'), accepted.headers.get('location'));
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    await client().settle(auth, String(accepted.body.job_id));
    for (const bad of ['', 'x'.repeat(256), '""']) {
      assertProblem(
        await client().upload({ ...auth, 'idempotency-key': bad }, image),
        400,
        /Idempotency-Key/,
      );
    }
  });

  t('every file in shared/images/bad: a clear 4xx problem, never a 5xx', async () => {
    const auth = await bearer(subject());
    for (const f of readdirSync(join(imagesDir, 'bad'))) {
      const a = await client().upload(auth, join(imagesDir, 'bad', f));
      assert.ok(a.status >= 400 && a.status < 500, `${f}: ${a.status} ${JSON.stringify(a.body)}`);
      assertProblem(a, a.status);
    }
  });

  t('every file in shared/images/formats: captioned, or 415 for SVG', async () => {
    const auth = await bearer(subject());
    const files = readdirSync(join(imagesDir, 'formats'));
    const answers = await Promise.all(files.map((f) => client().upload(auth, join(imagesDir, 'formats', f))));
    answers.forEach((a, i) => {
      if (files[i].endsWith('.svg')) assertProblem(a, 415, /SVG/);
      else assertSuccess(a);
    });
  });

  t('hostile uploads: each a clear 4xx', async () => {
    const auth = await bearer(subject());
    const c = client();
    assertProblem(await c.upload(auth, Buffer.alloc(0)), 400);
    assertProblem(await c.upload(auth, randomBytes(1 << 20)), 415);
    assertProblem(await c.upload(auth, Buffer.from('%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n')), 415);
    const polyglot = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
      Buffer.from('<html><script>alert(1)</script></html>'),
    ]);
    assertProblem(await c.upload(auth, polyglot), 422);
    const tooBig = Buffer.concat([
      readFileSync(join(photos, '320x240.jpg')),
      Buffer.alloc(stack().maxUploadBytes),
    ]);
    assertProblem(await c.upload(auth, tooBig), 413);
    // One byte over the limit: within the JSON body limit (4/3 + slack), so the image check answers,
    // from the base64 length, before decoding anything.
    const justOver = Buffer.alloc(stack().maxUploadBytes + 1, 0xff);
    assertProblem(
      await c.json(auth, { image_base64: justOver.toString('base64') }),
      413,
      /decoded image_base64/,
    );
    const jpeg = freshJpeg();
    assertProblem(await c.upload(auth, jpeg, {}, [{ name: 'extra', filename: 'x', data: jpeg }]), 413);
    assertProblem(await c.upload(auth, jpeg, { colour: 'red' }), 400, /Unexpected form field "colour"/);
    assertProblem(await c.upload(auth, jpeg, { num_captions: '9' }), 400, /num_captions/);
    assertProblem(await c.upload(auth, jpeg, { prompt: 'x'.repeat(201) }), 400, /prompt/);
    assertProblem(await c.json(auth, { image_base64: 'not base64!' }), 400, /base64/);
    assertProblem(
      await c.json(auth, { image_base64: 'QUJD', image_url: 'https://example.com/x.jpg' }),
      400,
      /exactly one/,
    );
    assertProblem(
      await c.json(auth, { image_base64: 'QUJD', prompt: 'a\u0000b' }),
      400,
      /control characters/,
    );
    assertProblem(await c.json(auth, { image_base64: 'QUJD', mode: 'later' }), 400);
    assertProblem(
      await c.request('POST', '/api/v1/caption', {
        headers: { ...auth, 'content-type': 'text/plain' },
        body: 'hello',
      }),
      415,
    );
    assertProblem(
      await c.request('POST', '/api/v1/caption', {
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"image_base64":',
      }),
      400,
    );
  });

  t(
    'image_url: an allowlisted loopback host is fetched; loopback in every form is refused without a connection',
    async () => {
      const auth = await bearer(subject());
      const c = client();
      const { allowed, trap } = stack();
      const ok = await c.json(auth, { image_url: `${allowed.base}/photos/concert.jpg` });
      assertSuccess(ok, readFileSync(join(photos, 'concert.jpg')));
      const before = trap.connections;
      const p = trap.port;
      const refused = [
        `http://127.0.0.1:${p}/photos/concert.jpg`,
        `http://localhost:${p}/photos/concert.jpg`,
        `http://2130706433:${p}/x`,
        `http://0177.0.0.1:${p}/x`,
        `http://0x7f.0.0.1:${p}/x`,
        `http://[::1]:${p}/x`,
        `http://[::ffff:127.0.0.1]:${p}/x`,
        `http://0.0.0.0:${p}/x`,
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/x.jpg',
        'http://192.168.1.1/x.jpg',
        'http://172.16.0.1/x.jpg',
        'file:///etc/passwd',
        'gopher://127.0.0.1:70/x',
        'data:image/png;base64,iVBORw0KGgo=',
        `${allowed.base}/redirect`,
      ];
      for (const url of refused) assertProblem(await c.json(auth, { image_url: url }), 400);
      assert.equal(trap.connections, before, 'the loopback trap saw a connection');
      assertProblem(await c.json(auth, { image_url: `${allowed.base}/photos/missing.jpg` }), 400, /404/);
    },
  );

  t(
    'auth basics: 401 for missing, malformed, expired, wrong issuer or audience, alg none; 403 for scope',
    async () => {
      const c = client();
      const image = freshJpeg();
      const post = (headers: Record<string, string>) => c.upload(headers, image);
      assertProblem(await post({}), 401);
      assertProblem(await post({ authorization: 'Bearer not.a.jwt' }), 401);
      assertProblem(await post({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), 401);
      assertProblem(await post({ authorization: `Bearer ${await token({ expiresIn: -60 })}` }), 401);
      assertProblem(await post({ authorization: `Bearer ${await token({ issuer: 'someone-else' })}` }), 401);
      assertProblem(await post({ authorization: `Bearer ${await token({ audience: 'other-api' })}` }), 401);
      assertProblem(await post({ authorization: `Bearer ${await token({ secret: 'x'.repeat(48) })}` }), 401);
      assertProblem(await post({ authorization: `Bearer ${unsignedToken()}` }), 401);
      assertProblem(await post(await bearer(subject(), 'caption:read')), 403);
      assertProblem(await c.job(await bearer(subject(), 'caption:write'), randomUUID()), 403);
      assertProblem(await c.request('GET', '/api/v1/models'), 401);
    },
  );

  t('rate limit per subject: 429 with Retry-After past the limit; other subjects unaffected', async () => {
    const c = client();
    const auth = await bearer(subject());
    const limit = stack().rateLimit;
    let last: Answer | undefined;
    for (let i = 0; i <= limit; i++) {
      last = await c.request('GET', '/api/v1/models', { headers: auth });
      if (last.status === 429) break;
    }
    assert.ok(last !== undefined);
    assertProblem(last, 429);
    assert.match(last.headers.get('retry-after') ?? '', /^\d+$/);
    const other = await c.request('GET', '/api/v1/models', { headers: await bearer(subject()) });
    assert.equal(other.status, 200);
  });

  t('GET /api/v1/models describes the loaded model', async () => {
    const a = await client().request('GET', '/api/v1/models', { headers: await bearer(subject()) });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const [m] = a.body.models as { id: string; version: string; image_size: number; generation: object }[];
    assert.equal(m.image_size, 384);
    assert.equal(typeof m.version, 'string');
    assert.equal(typeof m.generation, 'object');
  });
}
