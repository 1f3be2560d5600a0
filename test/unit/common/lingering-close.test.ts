/**
 * Answers sent before the body has arrived reach the client: a 401 before the body, a 413 from
 * Content-Length (JSON and multipart), a 431 from the parser. Node destroys the socket after an answer
 * with `Connection: close`; a client still sending then got a reset (EPIPE) instead of the answer in a
 * quarter to a half of the tries. Now the connection lingers (src/bootstrap/lingering-close.ts): every try
 * gets its answer, nothing pipelined behind the answer is processed, and a client that ignores the close
 * is cut off after the linger time.
 */
import { execFile } from 'node:child_process';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LINGER_MS } from '../../../src/bootstrap/lingering-close';
import { countedRequestIds, ProbeController } from './probe.controller';
import { createTestApp, type TestApp } from './test-app';
import { hs256 } from './tokens';

const MAX_UPLOAD_BYTES = 256 * 1024;
/** Far over every body limit of the app below, so the client is still sending when the answer comes. */
const BIG = 8 * 1024 * 1024;
const TRIES = 25;
const execFileAsync = promisify(execFile);

interface Outcome {
  status?: number;
  contentType?: string;
  error?: string;
}

/** What the client sends: headers, and a body of `prefix`, `fill` bytes of "x", then `suffix`. */
interface Spec {
  headers: Record<string, string>;
  prefix: string;
  fill: number;
  suffix: string;
}

/**
 * The client runs in its own process: sharing the server's event loop, fetch is never writing while the
 * server answers and closes, and the reset this guards against does not happen. It sends `tries` requests
 * one after the other, then two at once, and prints what each got.
 */
const CLIENT = `
const [url, spec, tries] = [process.argv[1], JSON.parse(process.argv[2]), Number(process.argv[3])];
const body = () => spec.prefix + 'x'.repeat(spec.fill) + spec.suffix;
async function once() {
  try {
    const res = await fetch(url, { method: 'POST', headers: spec.headers, body: body(), signal: AbortSignal.timeout(30000) });
    await res.arrayBuffer();
    return { status: res.status, contentType: res.headers.get('content-type') || '' };
  } catch (err) {
    return { error: (err.cause && (err.cause.code || err.cause.message)) || err.message };
  }
}
(async () => {
  const outcomes = [];
  for (let i = 0; i < tries; i++) outcomes.push(await once());
  outcomes.push(...(await Promise.all([once(), once()])));
  process.stdout.write(JSON.stringify(outcomes));
})();
`;

async function tryFromAnotherProcess(url: string, spec: Spec, tries: number): Promise<Outcome[]> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['-e', CLIENT, url, JSON.stringify(spec), String(tries)],
    {
      timeout: 120_000,
    },
  );
  return JSON.parse(stdout) as Outcome[];
}

function tally(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const key = o.error ?? String(o.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k}: ${v}`).join(', ');
}

/** Opens a raw connection that keeps its writable side open after the server's FIN. */
function halfOpenSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('answers before the body reach the client (lingering close)', () => {
  let t: TestApp;
  let base: string;
  let port: number;
  let bearer: string;
  before(async () => {
    t = await createTestApp({
      controllers: [ProbeController],
      listen: true,
      env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) },
    });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    bearer = await hs256({ scope: 'caption:write' });
  });
  after(async () => t.close());

  const json = (auth: boolean, fill: number): Spec => ({
    headers: { ...(auth ? { authorization: `Bearer ${bearer}` } : {}), 'content-type': 'application/json' },
    prefix: '{"prompt":"',
    fill,
    suffix: '"}',
  });
  const cases: [string, number, () => Spec][] = [
    ['a JSON body over the limit, by Content-Length', 413, () => json(true, BIG)],
    [
      'a multipart body over the limit, by Content-Length',
      413,
      () => ({
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'multipart/form-data; boundary=b' },
        prefix: '',
        fill: BIG,
        suffix: '',
      }),
    ],
    ['no token, a body within the limit', 401, () => json(false, MAX_UPLOAD_BYTES)],
    ['no token, a body over the limit', 401, () => json(false, BIG)],
    [
      'a forged token, a body over the limit',
      401,
      () => ({ ...json(false, BIG), headers: { authorization: `Bearer ${bearer.slice(0, -4)}AAAA` } }),
    ],
    [
      'headers too large, then a body',
      431,
      () => ({
        ...json(false, BIG),
        headers: { 'content-type': 'application/json', 'x-big': 'h'.repeat(20_000) },
      }),
    ],
  ];

  for (const [name, status, spec] of cases) {
    test(`${name}: ${status} problem+json on every try, never a reset`, async () => {
      const outcomes = await tryFromAnotherProcess(`${base}/api/v1/probe/write`, spec(), TRIES);
      assert.equal(outcomes.length, TRIES + 2);
      const wrong = outcomes.filter((o) => o.status !== status);
      assert.equal(wrong.length, 0, `${name}: ${tally(outcomes)}`);
      for (const o of outcomes) assert.match(o.contentType ?? '', /^application\/problem\+json/);
    });
  }

  test('a request sent behind a 401 on the same connection is never processed', async () => {
    // The client ignores the Connection: close: once the 401 is in, it sends the rest of the body and
    // another request, with a valid token, that reaches the server while the connection lingers.
    const socket = await halfOpenSocket(port);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const body = `{"prompt":"${'x'.repeat(1000)}"}`;
    socket.write(
      `POST /api/v1/probe/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    const deadline = Date.now() + 10_000;
    while (!answer.includes('\r\n\r\n') && Date.now() < deadline) await sleep(20);
    assert.match(answer, /^HTTP\/1\.1 401 /);
    const id = `behind-401-${Date.now()}`;
    socket.write(
      `${body.slice(10)}POST /api/v1/probe/count HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${bearer}\r\n` +
        `X-Request-Id: ${id}\r\nContent-Length: 0\r\n\r\n`,
    );
    await sleep(500);
    socket.end();
    await closed;
    assert.ok(!countedRequestIds.has(id), 'the request behind the 401 ran');
    const statusLines = answer.split('\r\n').filter((line) => line.startsWith('HTTP/1.1 '));
    assert.deepEqual(statusLines, ['HTTP/1.1 401 Unauthorized'], answer.slice(0, 600));
    // The same request on its own connection runs (so the check above can fail).
    const res = await fetch(`${base}/api/v1/probe/count`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'x-request-id': `${id}-alone` },
    });
    assert.equal(res.status, 201);
    assert.ok(countedRequestIds.has(`${id}-alone`));
  });

  test('a client that ignores the close and keeps sending is cut off after the linger time', async () => {
    const socket = await halfOpenSocket(port);
    let answer = '';
    let answeredAt = 0;
    socket.on('data', (chunk: Buffer) => {
      answeredAt ||= Date.now();
      answer += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    let serverEnded = false;
    socket.once('end', () => (serverEnded = true));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    socket.write(
      `POST /api/v1/probe/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${BIG}\r\n\r\n{"prompt":"`,
    );
    // Keep sending a kilobyte every 50 ms, whatever the server says, until it drops the connection.
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(Buffer.alloc(1024, 0x78));
    }, 50);
    const closedAt = await closed;
    clearInterval(drip);
    assert.match(answer, /^HTTP\/1\.1 401 /);
    assert.ok(serverEnded, 'the answer was followed by a FIN');
    const lingered = closedAt - answeredAt;
    assert.ok(
      lingered >= LINGER_MS - 1000 && lingered <= LINGER_MS + 3000,
      `closed ${lingered} ms after the answer (linger ${LINGER_MS} ms)`,
    );
  });
});
