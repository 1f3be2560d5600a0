/**
 * Issue 12 in process: the JSON depth limit (finding 2), errors made below the application as
 * problem+json with the security headers and nothing echoed (finding 4), JWT-shaped values redacted in
 * every logged header and field (finding 6). Over real HTTP on a loopback port where Node's parser is
 * involved; the same classes run against the built processes in test/reliability/hostile-clients.test.ts.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { jsonDepth, MAX_JSON_DEPTH } from '../../../src/bootstrap/json-body.parser';
import { loggerOptions } from '../../../src/common/logging/logging.module';
import { redactJwts, serializeRequest } from '../../../src/common/logging/redaction';
import { ProbeController } from './probe.controller';
import { createTestApp, type TestApp } from './test-app';
import { hs256 } from './tokens';

/** One raw HTTP exchange: what the server wrote before it closed the connection. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(request);
  });
}

function parseRaw(answer: string): { status: number; headers: Map<string, string>; body: string } {
  const [head, ...rest] = answer.split('\r\n\r\n');
  const [statusLine, ...lines] = (head ?? '').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

function assertHardenedProblem(
  a: { status: number; headers: Map<string, string>; body: string },
  status: number,
  what: string,
  mustNotEcho: string,
): void {
  assert.equal(a.status, status, `${what}: ${a.body}`);
  assert.match(a.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  assert.match(a.headers.get('strict-transport-security') ?? '', /max-age=\d+/, `${what}: HSTS`);
  assert.equal(a.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.match(a.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, `${what}: CSP`);
  assert.equal(a.headers.get('cache-control'), 'no-store', `${what}: no-store`);
  const body = JSON.parse(a.body) as { status: number; type: string; detail: string };
  assert.equal(body.status, status, what);
  assert.match(body.type, /^urn:captioner:problem:/, what);
  assert.ok(!a.body.includes(mustNotEcho), `${what}: the answer echoes the request`);
}

test('jsonDepth counts objects and arrays, not brackets in strings', () => {
  assert.equal(jsonDepth('{}'), 1);
  assert.equal(jsonDepth('{"a":[1,{"b":2}]}'), 3);
  assert.equal(jsonDepth('{"a":"[[[[{{{{"}'), 1);
  assert.equal(jsonDepth('{"a":"\\"[[[["}'), 1);
  assert.equal(jsonDepth('['.repeat(100_000), 16), 17, 'stops past the limit');
  assert.equal(jsonDepth('"x"'), 0);
});

describe('hostile requests over HTTP', () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await createTestApp({ controllers: [ProbeController], listen: true });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  after(async () => t.close());

  test('deep JSON nesting is a 400 at every depth past the limit, in any member, objects or arrays', async () => {
    const bodies = [
      `{"prompt":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      `{"prompt":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
      `{"unknown":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`,
      `${'['.repeat(100_000)}`,
      `{"prompt":${'['.repeat(MAX_JSON_DEPTH - 2)}${']'.repeat(MAX_JSON_DEPTH - 2)}}`,
    ];
    for (const [i, payload] of bodies.entries()) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/probe/validate',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      assert.equal(res.statusCode, 400, `body ${i}: ${res.body.slice(0, 200)}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    }
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/validate',
      headers: { 'content-type': 'application/json' },
      payload: '{"prompt":"a photo of"}',
    });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('headers too large -> 431 problem+json with the security headers', async () => {
    const secret = 'S'.repeat(20_000);
    const a = parseRaw(
      await rawExchange(port, `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${secret}\r\n\r\n`),
    );
    assertHardenedProblem(a, 431, '431', 'SSSSSSSSSS');
  });

  test('a request line too long for the parser -> 431, echoing nothing', async () => {
    const path = `/api/v1/${'p'.repeat(20_000)}`;
    const a = parseRaw(await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
    assertHardenedProblem(a, 431, 'long request line', 'pppppppppp');
  });

  test('a route parameter longer than the router takes -> 414, echoing nothing', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/probe/slow/${'9'.repeat(500)}`);
    const a = { status: res.status, headers: new Map(res.headers), body: await res.text() };
    assertHardenedProblem(a, 414, '414', '9999999999');
  });

  test('a bad URL encoding -> 400, echoing nothing', async () => {
    const a = parseRaw(
      await rawExchange(
        port,
        `GET /api/v1/probe/slow/%zzmarker HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      ),
    );
    assertHardenedProblem(a, 400, 'bad url', 'marker');
  });

  for (const [name, request] of [
    ['malformed request line', 'GARBAGE\r\n\r\n'],
    ['bad header', 'GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n'],
    [
      'conflicting lengths',
      'POST /api/v1/probe/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}',
    ],
    [
      'bad chunk',
      'POST /api/v1/probe/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    ],
  ] as const) {
    test(`${name} -> 400 problem+json with the security headers`, async () => {
      const a = parseRaw(await rawExchange(port, request));
      assertHardenedProblem(a, 400, name, 'GARBAGE');
    });
  }

  test('a request without a valid token is answered 401 before its body and the connection closed', async () => {
    // Headers announce a megabyte, a few bytes follow, then nothing: the 401 comes anyway.
    const answer = await rawExchange(
      port,
      'POST /api/v1/probe/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{"prompt":"',
    );
    const a = parseRaw(answer);
    assert.equal(a.status, 401, answer.slice(0, 300));
    assert.equal(a.headers.get('connection'), 'close');
    assert.match(a.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer realm="captioner"/);
  });

  test('a valid token still passes through the early hook and the guard (verified once)', async () => {
    const jwt = await hs256({ scope: 'caption:write' });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/write',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      payload: '{"prompt":"x"}',
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal((res.json() as { sub: string }).sub, 'alice');
    const noScope = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe/write',
      headers: { authorization: `Bearer ${await hs256({ scope: 'caption:read' })}` },
    });
    assert.equal(noScope.statusCode, 403, 'scopes stay with the guard');
  });
});

describe('JWT-shaped values are redacted wherever they are logged', () => {
  const jwt =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
  const spaced = `${Buffer.from('{ "alg": "HS256" }').toString('base64url')}.eyJzdWIiOiJ4In0.c2lnbmF0dXJl`;

  test('redactJwts: tokens in any text, whatever the header looks like; host names and versions kept', () => {
    assert.equal(redactJwts(`Bearer ${jwt}`), 'Bearer [redacted]');
    assert.equal(redactJwts(`curl/8.0 (${jwt})`), 'curl/8.0 ([redacted])');
    assert.equal(redactJwts(`1.2.3.4, ${spaced}`), '1.2.3.4, [redacted]');
    assert.equal(redactJwts(`averylonghostname.${jwt}`), 'averylonghostname.[redacted]');
    for (const kept of [
      'api.example-service.internal',
      'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.6099.109',
      '10.0.0.1, 192.168.1.1',
    ]) {
      assert.equal(redactJwts(kept), kept);
    }
  });

  test('the access-log request: every logged header value', () => {
    const out = serializeRequest({
      method: 'GET',
      url: `/api/v1/caption/${jwt}?x=${jwt}`,
      headers: {
        'user-agent': `ua ${jwt}`,
        'x-forwarded-for': [`${jwt}`, '1.2.3.4'],
        accept: jwt,
        prefer: jwt,
      },
    });
    assert.ok(!JSON.stringify(out).includes('eyJzdWIi'), JSON.stringify(out));
  });

  test('pino: fields at any depth, the message, an error message and stack', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = pino(loggerOptions('info'), sink);
    log.info({ a: { b: { c: { d: `x ${jwt}` } } }, referer: `https://x/?t=${jwt}` }, `message with ${jwt}`);
    log.error({ err: new Error(`failed for ${jwt}`) }, 'boom');
    log.info(`plain ${spaced}`);
    const text = lines.join('');
    assert.equal(lines.length, 3);
    assert.ok(!text.includes('eyJzdWIi'), text);
    assert.match(text, /\[redacted\]/);
  });
});
