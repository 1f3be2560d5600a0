/** The request parser behind a bare Fastify with the API's multipart body parser: what is accepted and what is refused. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { AppError } from '../../../src/common/app-error';
import {
  CaptionRequestParser,
  parsePrefer,
  prefersAsync,
} from '../../../src/captioning/caption-request.parser';
import { useBufferedMultipartParser } from '../../../src/bootstrap/multipart-body.parser';
import { ImageIntake } from '../../../src/image/image-intake.service';
import { ImageSettings } from '../../../src/image/image.settings';
import { multipart } from '../../helpers/multipart';

let app: FastifyInstance;
const MAX = 4096;

before(async () => {
  const settings = Object.assign(new ImageSettings(), { MAX_UPLOAD_BYTES: MAX });
  const parser = new CaptionRequestParser(new ImageIntake(settings), {
    // The webhooks module's check, faked: private addresses are refused.
    check: (url: string) =>
      /\/\/(10\.|127\.)/.test(url)
        ? Promise.reject(
            new AppError({
              code: 'webhook_url.refused',
              status: 400,
              title: 'refused',
              detail: 'private address',
            }),
          )
        : Promise.resolve(),
  });
  const bare = new CaptionRequestParser(new ImageIntake(settings));
  app = Fastify();
  useBufferedMultipartParser(app, settings.maxMultipartBodyBytes);
  app.post('/parse', async (req, reply) => {
    try {
      const c = await (req.headers['x-no-webhooks'] === undefined ? parser : bare).parse(req);
      const image =
        c.image.kind === 'bytes' ? { kind: 'bytes', length: c.image.bytes.length } : { kind: c.image.kind };
      return { image, options: c.options, async: c.async, ...(c.webhook ? { webhook: c.webhook } : {}) };
    } catch (err) {
      if (err instanceof AppError)
        return reply.status(err.problem.status).send({ code: err.problem.code, detail: err.problem.detail });
      throw err;
    }
  });
  app.post('/parse-http', async (req, reply) => {
    try {
      return (await parser.parse(req)).http;
    } catch (err) {
      if (err instanceof AppError)
        return reply.status(err.problem.status).send({ code: err.problem.code, detail: err.problem.detail });
      throw err;
    }
  });
  await app.ready();
});

after(async () => {
  await app.close();
});

async function post(body: Buffer | object, contentType?: string, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/parse',
    payload: Buffer.isBuffer(body) ? body : JSON.stringify(body),
    headers: { 'content-type': contentType ?? 'application/json', ...headers },
  });
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
}

const file = Buffer.alloc(1000, 0xab);

test('multipart: the image file and the option fields', async () => {
  const form = multipart([
    { name: 'image', filename: 'x.jpg', data: file },
    { name: 'prompt', value: 'a picture of' },
    { name: 'num_captions', value: '3' },
    { name: 'mode', value: 'async' },
  ]);
  const res = await post(form.body, form.contentType);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    image: { kind: 'bytes', length: 1000 },
    options: { prompt: 'a picture of', numCaptions: 3 },
    async: true,
  });
});

test('multipart refusals: over the limit, extra file, unknown or repeated field, missing file, bad options', async () => {
  const cases: [ReturnType<typeof multipart>, number, RegExp][] = [
    [
      multipart([{ name: 'image', filename: 'x', data: Buffer.alloc(MAX + 1) }]),
      413,
      /over the upload limit/,
    ],
    [
      multipart([
        { name: 'image', filename: 'a', data: file },
        { name: 'image', filename: 'b', data: file },
      ]),
      413,
      /exactly one file/,
    ],
    [
      multipart([
        { name: 'image', filename: 'a', data: file },
        { name: 'other', filename: 'b', data: file },
      ]),
      413,
      /exactly one file/,
    ],
    [multipart([{ name: 'photo', filename: 'a', data: file }]), 400, /Unexpected file field "photo"/],
    [
      multipart([
        { name: 'image', filename: 'a', data: file },
        { name: 'foo', value: 'bar' },
      ]),
      400,
      /Unexpected form field "foo"/,
    ],
    [
      multipart([
        { name: 'image', filename: 'a', data: file },
        { name: 'prompt', value: 'a' },
        { name: 'prompt', value: 'b' },
      ]),
      400,
      /repeated/,
    ],
    [multipart([{ name: 'prompt', value: 'x' }]), 400, /no file/],
    [multipart([{ name: 'image', value: 'not a file' }]), 400, /must be a file/],
    [
      multipart([
        { name: 'image', filename: 'a', data: file },
        { name: 'num_captions', value: '9' },
      ]),
      400,
      /num_captions must not be greater than 5/,
    ],
    [
      multipart([
        { name: 'image', filename: 'a', data: file },
        { name: 'num_captions', value: 'two' },
      ]),
      400,
      /num_captions must be an integer/,
    ],
    [
      multipart([
        { name: 'image', filename: 'a', data: file },
        { name: 'prompt', value: 'x'.repeat(2000) },
      ]),
      400,
      /prompt/,
    ],
    [
      multipart([
        { name: 'image', filename: 'a', data: file },
        { name: 'prompt', value: 'x'.repeat(5000) },
      ]),
      413,
      /too long/,
    ],
  ];
  for (const [form, status, detail] of cases) {
    const res = await post(form.body, form.contentType);
    assert.equal(res.status, status, String(res.body.detail));
    assert.match(String(res.body.detail), detail);
  }
});

test('JSON: exactly one image source; options validated; unknown members refused', async () => {
  const ok = await post({ image_url: 'https://example.com/a.jpg', num_captions: 2 });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { image: { kind: 'url' }, options: { numCaptions: 2 }, async: false });
  const cases: [object, RegExp][] = [
    [{}, /exactly one of image_url and image_base64/],
    [{ image_url: 'https://e.com/a', image_base64: 'QUJD' }, /exactly one/],
    [{ image_base64: 'QUJD', prompt: 'x'.repeat(201) }, /prompt must be shorter than or equal to 200/],
    [{ image_base64: 'QUJD', prompt: 'line\nbreak' }, /control characters/],
    [{ image_base64: 'QUJD', prompt: 'bell\u0007' }, /control characters/],
    [{ image_base64: 'QUJD', num_captions: 0 }, /num_captions must not be less than 1/],
    [{ image_base64: 'QUJD', num_captions: 1.5 }, /num_captions must be an integer/],
    [{ image_base64: 'QUJD', mode: 'later' }, /mode must be one of/],
    [{ image_base64: 'QUJD', extra: 1 }, /property extra should not exist/],
    [{ image_base64: 42 }, /image_base64 must be a string/],
    [[1, 2], /must be a JSON object/],
  ];
  for (const [body, detail] of cases) {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(String(res.body.detail), detail);
  }
});

test('Prefer: respond-async selects async', async () => {
  const res = await post({ image_base64: 'QUJD' }, undefined, { prefer: 'respond-async, wait=5' });
  assert.equal(res.body.async, true);
  assert.equal(prefersAsync(['handling=lenient', 'respond-async']), true);
  assert.equal(prefersAsync('wait=10'), false);
  assert.equal(prefersAsync(undefined), false);
});

test('HTTP options: Cache-Control no-cache and a valid Idempotency-Key pass; a malformed key is a 400', async () => {
  const body = JSON.stringify({ image_url: 'https://example.com/a.jpg' });
  const send = async (headers: Record<string, string>) => {
    const res = await app.inject({
      method: 'POST',
      url: '/parse-http',
      payload: body,
      headers: { 'content-type': 'application/json', ...headers },
    });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };
  assert.deepEqual((await send({})).body, {});
  assert.deepEqual((await send({ 'cache-control': 'no-cache' })).body, { noCache: true });
  assert.deepEqual((await send({ 'cache-control': 'max-age=0' })).body, { noCache: true });
  assert.deepEqual((await send({ 'cache-control': 'max-age=60' })).body, {});
  assert.deepEqual((await send({ 'idempotency-key': '"8e03978e-40d5"' })).body, {
    idempotencyKey: '8e03978e-40d5',
  });
  assert.deepEqual((await send({ 'idempotency-key': 'order 42/b' })).body, { idempotencyKey: 'order 42/b' });
  assert.deepEqual((await send({ 'idempotency-key': 'x'.repeat(255) })).body, {
    idempotencyKey: 'x'.repeat(255),
  });
  for (const bad of ['x'.repeat(256), '""', '   ']) {
    const res = await send({ 'idempotency-key': bad });
    assert.equal(res.status, 400, bad);
    assert.equal(res.body.code, 'idempotency.invalid_key');
  }
});

test('Prefer: wait=N is read (RFC 7240: first wait counts, quoted or not); a malformed wait is a 400', () => {
  assert.deepEqual(parsePrefer('respond-async, wait=5'), { respondAsync: true, waitSeconds: 5 });
  assert.deepEqual(parsePrefer(['wait="0"', 'wait=9']), { respondAsync: false, waitSeconds: 0 });
  assert.deepEqual(parsePrefer('handling=lenient'), { respondAsync: false });
  for (const bad of ['wait=-1', 'wait=soon', 'wait=1.5', 'wait', 'wait=10000000000']) {
    assert.throws(
      () => parsePrefer(bad),
      (e: unknown) =>
        e instanceof AppError && e.problem.status === 400 && /Prefer: wait/.test(e.problem.detail),
      bad,
    );
  }
});

test('webhook_url and webhook_events, JSON and multipart: checked, default completed, async', async () => {
  const json = await post({
    image_url: 'https://example.com/a.jpg',
    webhook_url: 'https://hooks.example.com/c',
  });
  assert.equal(json.status, 200, JSON.stringify(json.body));
  assert.deepEqual(json.body.webhook, { url: 'https://hooks.example.com/c', events: ['completed'] });
  assert.equal(json.body.async, true);
  const form = multipart([
    { name: 'image', filename: 'x.jpg', data: file },
    { name: 'webhook_url', value: 'http://hooks.example.com/c' },
    { name: 'webhook_events', value: 'started, completed' },
  ]);
  const mp = await post(form.body, form.contentType);
  assert.equal(mp.status, 200, JSON.stringify(mp.body));
  assert.deepEqual(mp.body.webhook, { url: 'http://hooks.example.com/c', events: ['started', 'completed'] });
  const bad: [object, RegExp][] = [
    [{ webhook_url: 'ftp://hooks.example.com/c' }, /http\(s\) URL/],
    [{ webhook_url: `https://h.example.com/${'a'.repeat(2100)}` }, /2048/],
    [{ webhook_url: 'https://h.example.com/', webhook_events: ['finished'] }, /among started, completed/],
    [{ webhook_url: 'https://h.example.com/', webhook_events: ['completed', 'completed'] }, /unique/],
    [{ webhook_events: ['completed'] }, /needs a webhook_url/],
    [{ webhook_url: 'https://10.0.0.7/hook' }, /private address/],
  ];
  for (const [extra, detail] of bad) {
    const a = await post({ image_url: 'https://example.com/a.jpg', ...extra });
    assert.equal(a.status, 400, JSON.stringify(extra));
    assert.match(String(a.body.detail), detail);
  }
  const off = await post(
    { image_url: 'https://example.com/a.jpg', webhook_url: 'https://hooks.example.com/c' },
    undefined,
    { 'x-no-webhooks': '1' },
  );
  assert.equal(off.status, 400);
  assert.match(String(off.body.detail), /does not deliver webhooks/);
});
