import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeController } from './probe.controller';
import { createTestApp, type TestApp } from './test-app';

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

function boundary(parts: { name: string; filename?: string; body: Buffer | string }[]): {
  payload: Buffer;
  type: string;
} {
  const b = '----captioner-test-boundary';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    const type = p.filename ? 'Content-Type: application/octet-stream\r\n' : '';
    chunks.push(Buffer.from(`--${b}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    chunks.push(Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${b}--\r\n`));
  return { payload: Buffer.concat(chunks), type: `multipart/form-data; boundary=${b}` };
}

describe('errors over HTTP are problem+json', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ controllers: [ProbeController], env: { MAX_UPLOAD_BYTES: '4096' } });
  });
  after(async () => t.close());

  test('an unknown route is a 404 problem without the URL or its query echoed', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/nothing?token=abc' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['content-type'], PROBLEM_JSON);
    const body = res.json();
    assert.equal(body.type, 'urn:captioner:problem:http.not_found');
    assert.equal(body.status, 404);
    assert.equal(body.instance, '/api/v1/nothing');
    assert.equal(body.request_id, res.headers['x-request-id']);
    assert.doesNotMatch(res.body, /token=abc/);
  });

  test('an unexpected error is a 500 with an error id, no message or stack, logged exactly once', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/probe/boom' });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['content-type'], PROBLEM_JSON);
    const body = res.json();
    assert.equal(body.type, 'urn:captioner:problem:internal');
    assert.match(body.error_id, /^[0-9a-f-]{36}$/);
    assert.match(body.detail, new RegExp(body.error_id));
    assert.doesNotMatch(res.body, /hunter2|at .*\.js:\d+/);
    const logged = t.logs.lines().filter((l) => JSON.stringify(l).includes(body.error_id));
    assert.equal(logged.length, 1, `one log line with the error id, got ${logged.length}`);
    const line = JSON.stringify(logged[0]);
    assert.match(line, /hunter2/, 'the log keeps the real message');
    assert.match(line, /"stack"/);
    assert.match(line, new RegExp(body.request_id));
  });

  test('an AppError keeps its status, headers and extra members', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/probe/app-error' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '3');
    const body = res.json();
    assert.equal(body.type, 'urn:captioner:problem:captioning.queue_unavailable');
    assert.equal(body.title, 'Queue unavailable');
    assert.equal(body.retry_after, 3);
  });

  const modelCases: [string, number][] = [
    ['image.empty', 400],
    ['image.unsupported_format', 415],
    ['image.undecodable', 422],
    ['image.too_many_pixels', 422],
    ['image.too_many_frames', 422],
    ['model.bad_options', 400],
    ['model.bundle_invalid', 503],
    ['model.inference_failed', 500],
  ];
  for (const [code, status] of modelCases) {
    test(`coded error ${code} -> ${status}`, async () => {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/probe/model-error/${code}` });
      assert.equal(res.statusCode, status);
      assert.equal(res.json().type, `urn:captioner:problem:${code}`);
      if (status === 500) assert.doesNotMatch(res.json().detail, /model says/);
    });
  }

  test('validation failures are 400 with the failing fields, never the values', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/validate',
      payload: { num_captions: 9, mode: 'later', extra_field: 'sekret-value' },
    });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.equal(body.type, 'urn:captioner:problem:request.invalid');
    const fields = (body.errors as { field: string }[]).map((e) => e.field).sort();
    assert.deepEqual(fields, ['extra_field', 'mode', 'num_captions']);
    assert.doesNotMatch(res.body, /sekret-value/);
  });

  test('image bytes and tokens sent in a request never reach the logs', async () => {
    const base64 = Buffer.from('PNG-like bytes that must stay private '.repeat(20)).toString('base64');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/validate?access_token=query-secret-123',
      headers: { authorization: 'Bearer header-secret-456', cookie: 'session=cookie-secret-789' },
      payload: { image_base64: base64, num_captions: 99 },
    });
    assert.equal(res.statusCode, 400);
    assert.doesNotMatch(res.body, new RegExp(base64.slice(0, 40)));
    const logs = t.logs.text();
    assert.match(logs, /\/api\/v1\/probe\/validate\?access_token=\[redacted\]/, 'the request is logged');
    for (const secret of [
      base64.slice(0, 40),
      'query-secret-123',
      'header-secret-456',
      'cookie-secret-789',
    ]) {
      assert.ok(!logs.includes(secret), `${secret} leaked into the logs`);
    }
  });

  test('valid input passes the pipe, transformed', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/validate',
      payload: { num_captions: 2 },
    });
    assert.equal(res.statusCode, 201);
    assert.deepEqual(res.json(), { num_captions: 2 });
  });

  test('malformed JSON is a 400 problem', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/validate',
      headers: { 'content-type': 'application/json' },
      payload: '{"num_captions": ',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], PROBLEM_JSON);
    assert.equal(res.json().type, 'urn:captioner:problem:request.malformed_json');
  });

  test('an unsupported content type is a 415 problem', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/validate',
      headers: { 'content-type': 'application/pdf' },
      payload: '%PDF-1.4',
    });
    assert.equal(res.statusCode, 415);
    assert.equal(res.json().type, 'urn:captioner:problem:request.unsupported_media_type');
  });

  test('a JSON body over the limit is a 413 problem', async () => {
    // MAX_UPLOAD_BYTES=4096 -> JSON limit = 4/3 of it + 64 KiB for the other fields.
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/validate',
      payload: { image_base64: 'A'.repeat(80 * 1024) },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().type, 'urn:captioner:problem:request.too_large');
  });

  test('a multipart file over MAX_UPLOAD_BYTES is a 413 problem, not a truncated file', async () => {
    const { payload, type } = boundary([{ name: 'image', filename: 'a.png', body: Buffer.alloc(5000, 1) }]);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/upload',
      headers: { 'content-type': type },
      payload,
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().type, 'urn:captioner:problem:image.too_large');
  });

  test('a second file is a 413 problem', async () => {
    const { payload, type } = boundary([
      { name: 'image', filename: 'a.png', body: 'x' },
      { name: 'image', filename: 'b.png', body: 'y' },
    ]);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/upload',
      headers: { 'content-type': type },
      payload,
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().type, 'urn:captioner:problem:image.too_large');
  });

  test('too many fields is a 413 problem', async () => {
    const parts = Array.from({ length: 12 }, (_, i) => ({
      name: i % 2 === 0 ? 'prompt' : 'mode',
      body: 'v',
    }));
    const { payload, type } = boundary(parts);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/upload',
      headers: { 'content-type': type },
      payload,
    });
    assert.equal(res.statusCode, 413);
  });

  test('a truncated multipart body is a 400 problem', async () => {
    const { payload, type } = boundary([{ name: 'image', filename: 'a.png', body: 'abc' }]);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/upload',
      headers: { 'content-type': type },
      payload: payload.subarray(0, payload.length - 20),
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], PROBLEM_JSON);
  });

  test('multipart without a boundary is a 4xx problem', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/upload',
      headers: { 'content-type': 'multipart/form-data' },
      payload: 'garbage',
    });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `got ${res.statusCode}`);
    assert.equal(res.headers['content-type'], PROBLEM_JSON);
  });

  test('a small multipart upload within the limits is read whole', async () => {
    const { payload, type } = boundary([
      { name: 'prompt', body: 'a picture of' },
      { name: 'image', filename: 'a.png', body: Buffer.alloc(4000, 1) },
    ]);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/upload',
      headers: { 'content-type': type },
      payload,
    });
    assert.equal(res.statusCode, 201);
    assert.deepEqual(res.json(), { bytes: 4000, fields: ['prompt'] });
  });
});
