/**
 * Issue 12: hostile clients against the built processes over real HTTP (findings 1, 2, 4, 5, 6, 7).
 * - 1: slow and stalled clients (headers then stall; a body stalled or dripped; with and without a token):
 *   every connection closed within its timeout, the anonymous ones answered 401 before their body, and
 *   the API's RSS back near idle afterwards.
 * - 2: deeply nested JSON bodies are 400, never 500.
 * - 4: errors made below the application (431, 414, 400, 408) are problem+json with the security headers
 *   and echo nothing of the request.
 * - 5: `crit`, a future `iat` and a too-long lifetime are 401 in the real process.
 * - 6: JWT-shaped values in any header are absent from the real log output.
 * - 7: /metrics only on the management listener (loopback), 404 on the public one; the worker's probe
 *   port binds HOST, its /metrics is on the management listener too.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { baseEnv } from '../helpers/processes';
import { sleep } from '../helpers/time';
import { token as signToken } from '../helpers/tokens';
import type { ServiceProcess } from '../helpers/processes';
import { assertHardened } from './support/client';
import { RawConnection, type RawAnswer } from './support/raw-http';
import { api, figure, memoryOf, privateModel, queueEnv, stopAll, TestRedis, worker } from './support/stack';

const HEADERS_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 10_000;
const MIN_RATE = 4096;
const RATE_WINDOW_MS = 2000;
/** Slack on top of each timeout: Node checks timeouts every second, and the machine is shared. */
const SLACK_MS = 10_000;
const PER_SCENARIO = 20;

const LIMITS = {
  HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
  HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  HTTP_BODY_MIN_BYTES_PER_SECOND: String(MIN_RATE),
  HTTP_BODY_RATE_WINDOW_MS: String(RATE_WINDOW_MS),
  JWT_MAX_LIFETIME_SECONDS: '3600',
};

/** A JSON caption body of `bytes` bytes (a base64 field), never completed by the slow clients. */
function bigBody(bytes: number): string {
  return `{"image_base64":"${'A'.repeat(bytes)}"}`;
}

function head(path: string, bearer: string | undefined, length: number, extra = ''): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n` +
    `${bearer ? `Authorization: Bearer ${bearer}\r\n` : ''}${extra}\r\n`
  );
}

/** The answer is a problem+json with the same security headers as every other answer. */
function assertHardenedRaw(a: RawAnswer, status: number, what: string, mustNotEcho?: string): void {
  assert.equal(a.status, status, `${what}: ${a.raw.slice(0, 300)}`);
  assertHardened({ status: a.status, headers: new Headers([...a.headers]), body: {} } as never, what);
  assert.match(a.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  const body = JSON.parse(a.body) as { status: number; type: string };
  assert.equal(body.status, status, what);
  if (mustNotEcho !== undefined) assert.ok(!a.raw.includes(mustNotEcho), `${what}: echoes the request`);
}

async function rawExchange(port: number, request: string): Promise<RawAnswer> {
  const c = await RawConnection.open(port);
  await c.write(request);
  assert.ok(await c.waitClosed(30_000), 'the server closed the connection');
  return c.answer();
}

/** Resolves when connecting to host:port is refused (nothing listens there on that address). */
function refused(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('the embedded API under hostile clients', () => {
  let apiProcess: ServiceProcess;
  let port: number;
  let bearer: string;

  before(async () => {
    apiProcess = await api(baseEnv({ MODEL_PATH: await privateModel(), ...LIMITS }));
    port = apiProcess.port;
    bearer = await signToken();
  });
  after(async () => stopAll());

  test('finding 1: stalled and slow clients are closed within their timeouts; RSS back near idle', async () => {
    // Warm the paths the attack uses, then take the idle figures.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${apiProcess.url}/api/v1/caption`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: bigBody(1024),
      });
      assert.ok(res.status >= 400 && res.status < 500, `warm-up: ${res.status}`);
      await res.arrayBuffer();
    }
    const idle = memoryOf(apiProcess);
    const path = '/api/v1/caption';
    const declared = 12 * 1024 * 1024;
    const oneMiB = bigBody(1024 * 1024).slice(0, 1024 * 1024);
    const wholeBody = bigBody(declared);

    interface Scenario {
      name: string;
      bound: number;
      expectStatus?: number;
      run: (c: RawConnection) => Promise<void>;
    }
    const scenarios: Scenario[] = [
      {
        name: 'headers then stall',
        bound: HEADERS_TIMEOUT_MS,
        expectStatus: 408,
        run: (c) => c.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${bearer}\r\n`),
      },
      {
        name: 'token, 1 MiB of a 12 MiB body then stall',
        bound: 2 * RATE_WINDOW_MS,
        run: (c) => c.write(head(path, bearer, declared) + oneMiB),
      },
      {
        name: 'no token, 1 MiB of a 12 MiB body then stall',
        bound: 0,
        expectStatus: 401,
        run: (c) => c.write(head(path, undefined, declared) + oneMiB),
      },
      {
        name: 'forged token, 1 MiB then stall',
        bound: 0,
        expectStatus: 401,
        run: (c) => c.write(head(path, `${bearer.slice(0, -4)}AAAA`, declared) + oneMiB),
      },
      {
        name: 'token, body dripped at 256 B/s',
        bound: RATE_WINDOW_MS,
        run: async (c) => {
          await c.write(head(path, bearer, declared));
          await c.drip(oneMiB, 64, 250);
        },
      },
      {
        name: 'no token, body dripped at 256 B/s',
        bound: 0,
        expectStatus: 401,
        run: async (c) => {
          await c.write(head(path, undefined, declared));
          await c.drip(oneMiB, 64, 250);
        },
      },
      {
        name: 'token, body dripped just above the minimum rate (whole-request timeout)',
        bound: REQUEST_TIMEOUT_MS,
        expectStatus: 408,
        run: async (c) => {
          await c.write(head(path, bearer, declared));
          await c.drip(wholeBody, 3 * MIN_RATE, 500);
        },
      },
    ];

    let peakRss = idle.rssMiB;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, memoryOf(apiProcess).rssMiB);
        await sleep(200);
      }
    })();

    const results = await Promise.all(
      scenarios.map(async (s) => {
        const conns = await Promise.all(Array.from({ length: PER_SCENARIO }, () => RawConnection.open(port)));
        const runs = conns.map((c) => s.run(c));
        const closed = await Promise.all(conns.map((c) => c.waitClosed(s.bound + SLACK_MS + 60_000)));
        await Promise.all(runs);
        return { s, conns, closed };
      }),
    );
    sampling = false;
    await sampler;

    for (const { s, conns, closed } of results) {
      assert.ok(
        closed.every(Boolean),
        `${s.name}: ${closed.filter((c) => !c).length} connections never closed`,
      );
      const lifetimes = conns.map((c) => c.lifetimeMs ?? Infinity);
      const max = Math.max(...lifetimes);
      assert.ok(max <= s.bound + SLACK_MS, `${s.name}: a connection lived ${max} ms (bound ${s.bound} ms)`);
      if (s.expectStatus !== undefined) {
        for (const c of conns) assertHardenedRaw(c.answer(), s.expectStatus, s.name, bearer.split('.')[2]);
      }
      if (s.expectStatus === 401) {
        for (const c of conns) {
          assert.equal(c.answer().headers.get('connection'), 'close', `${s.name}: Connection: close`);
          assert.ok(c.bytesSent < declared, `${s.name}: answered before the body was sent`);
        }
      }
      const sent = conns.map((c) => c.bytesSent);
      figure(
        `${s.name}: ${conns.length} connections closed after ${Math.min(...lifetimes)}-${max} ms ` +
          `(bound ${s.bound} ms), status ${s.expectStatus ?? 'none (closed)'}, ` +
          `sent ${Math.min(...sent)}-${Math.max(...sent)} bytes`,
      );
    }

    // RSS back near idle: the buffered bodies are released (wait for it, GC is not immediate).
    const near = idle.rssMiB + 64;
    const deadline = Date.now() + 90_000;
    let after = memoryOf(apiProcess);
    while (after.rssMiB > near && Date.now() < deadline) {
      await sleep(1000);
      after = memoryOf(apiProcess);
    }
    figure(
      `API RSS: idle ${idle.rssMiB.toFixed(0)} MiB, peak during ${peakRss.toFixed(0)} MiB, ` +
        `after ${after.rssMiB.toFixed(0)} MiB; VmHWM ${idle.peakMiB.toFixed(0)} -> ${after.peakMiB.toFixed(0)} MiB`,
    );
    assert.ok(after.rssMiB <= near, `RSS ${after.rssMiB} MiB not back near idle ${idle.rssMiB} MiB`);
    const health = await fetch(`${apiProcess.url}/health/ready`);
    assert.equal(health.status, 200, 'still serving');
  });

  test('finding 2: deeply nested JSON is a 400 problem, whatever the shape', async () => {
    const bodies = [
      `{"prompt":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      `{"image_url":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`,
      `{"x":${'['.repeat(50_000)}`,
      `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      `{"image_base64":"QUJD","extra":${'{"k":'.repeat(20)}1${'}'.repeat(20)}}`,
      `{"num_captions":{"constructor":{"prototype":{"x":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}}}}`,
    ];
    const statuses = new Map<number, number>();
    for (const [i, body] of bodies.entries()) {
      const res = await fetch(`${apiProcess.url}/api/v1/caption`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body,
      });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.equal(res.status, 400, `body ${i}: ${res.status} ${text.slice(0, 200)}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
    figure(`nested bodies: ${bodies.length} shapes, statuses ${JSON.stringify([...statuses])}`);
  });

  test('finding 4: errors below the application are hardened problem+json echoing nothing', async () => {
    const marker = 'ECHOMARKER';
    const cases: [string, string, number][] = [
      [
        'headers too large',
        `GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: ${marker}${'a'.repeat(20_000)}\r\n\r\n`,
        431,
      ],
      [
        'request line too long',
        `GET /api/v1/${marker}${'p'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        431,
      ],
      [
        'route parameter too long',
        `GET /api/v1/caption/${marker}${'j'.repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        414,
      ],
      [
        'bad URL encoding',
        `GET /api/v1/caption/%zz${marker} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        400,
      ],
      ['malformed request line', `${marker} / FOO/9\r\n\r\n`, 400],
      ['bad header', `GET /health/live HTTP/1.1\r\nHost: x\r\nBad ${marker}: v\r\n\r\n`, 400],
      [
        'length and chunked',
        `POST /api/v1/caption HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${marker}`,
        400,
      ],
      [
        'request timeout (headers never finished)',
        `GET /health/live HTTP/1.1\r\nHost: x\r\nX-${marker}: 1\r\n`,
        408,
      ],
    ];
    for (const [name, request, status] of cases) {
      assertHardenedRaw(await rawExchange(port, request), status, name, marker);
    }
    figure(
      `below-app errors: ${cases.length} classes, each problem+json with the security headers, 0 echoes`,
    );
  });

  test('finding 5: crit, future iat and an over-long lifetime are 401 in the real process', async () => {
    const { createHmac } = await import('node:crypto');
    const { TEST_JWT_SECRET, TEST_ISSUER, TEST_AUDIENCE } = await import('../helpers/tokens');
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const sign = (header: object, claims: object): string => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64({
        sub: 'mallory',
        iss: TEST_ISSUER,
        aud: TEST_AUDIENCE,
        scope: 'caption:read caption:write',
        ...claims,
      })}`;
      return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`;
    };
    const hostile = [
      sign({ crit: ['x-ext'], 'x-ext': true }, { iat: now, exp: now + 600 }),
      sign({ crit: ['b64'], b64: false }, { iat: now, exp: now + 600 }),
      sign({}, { iat: now + 3600, exp: now + 7200 }),
      sign({}, { iat: now, exp: now + 7200 }),
      sign({}, { exp: now + 600 }),
    ];
    for (const jwt of hostile) {
      const res = await fetch(`${apiProcess.url}/api/v1/models`, {
        headers: { authorization: `Bearer ${jwt}` },
      });
      assert.equal(res.status, 401, jwt.split('.')[0]);
      await res.arrayBuffer();
    }
    const ok = await fetch(`${apiProcess.url}/api/v1/models`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const logs = apiProcess.logs;
    for (const jwt of hostile) assert.ok(!logs.includes(jwt.split('.')[2] ?? '-'), 'a token reached the log');
  });

  test('finding 6: JWT-shaped values in any header never reach the log', async () => {
    const tokens = await Promise.all(Array.from({ length: 8 }, () => signToken()));
    const [ua, xff, referer, custom, requestId, accept, prefer, query] = tokens;
    const res = await fetch(`${apiProcess.url}/api/v1/models?x=${query}`, {
      headers: {
        authorization: `Bearer ${bearer}`,
        'user-agent': `evil/1.0 (${ua})`,
        'x-forwarded-for': `1.2.3.4, ${xff}`,
        referer: `https://example.com/cb?code=${referer}`,
        'x-custom': custom,
        'x-request-id': requestId,
        accept: `application/json, ${accept}`,
        prefer: prefer,
      },
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    await fetch(`${apiProcess.url}/api/v1/caption/${tokens[0]}`, {
      headers: { 'user-agent': tokens[1] },
    }).then((r) => r.arrayBuffer());
    // The access log line is written on response; wait until it is out.
    const deadline = Date.now() + 10_000;
    while (!apiProcess.logs.includes('evil/1.0') && Date.now() < deadline) await sleep(100);
    const logs = apiProcess.logs;
    assert.match(logs, /evil\/1\.0 \(\[redacted\]\)/, 'the User-Agent line is there, redacted');
    let parts = 0;
    for (const jwt of [...tokens, bearer]) {
      for (const part of jwt.split('.')) {
        parts++;
        assert.ok(!logs.includes(part), `a token part reached the log: ${part.slice(0, 20)}...`);
      }
    }
    figure(
      `log grep: ${parts} token parts from ${tokens.length + 1} tokens absent from ${logs.split('\n').length} log lines`,
    );
  });

  test('finding 7: /metrics is 404 on the public listener, served on the loopback management listener', async () => {
    const pub = await fetch(`${apiProcess.url}/metrics`);
    assert.equal(pub.status, 404);
    assert.match(pub.headers.get('content-type') ?? '', /^application\/problem\+json/);
    await pub.arrayBuffer();
    const mgmt = await fetch(`${apiProcess.managementUrl}/metrics`);
    assert.equal(mgmt.status, 200);
    assert.match(await mgmt.text(), /http_request_duration_seconds/);
    assert.equal((await fetch(`${apiProcess.managementUrl}/health/live`)).status, 200);
    assert.ok(
      await refused(apiProcess.managementPort, '127.0.0.2'),
      'the management listener binds 127.0.0.1 only',
    );
  });
});

describe('the worker: probes on HOST, metrics on the management listener', () => {
  let redis: TestRedis;
  let w: ServiceProcess;
  before(async () => {
    redis = await TestRedis.start();
    w = await worker(await queueEnv(redis.url, { HOST: '127.0.0.1' }));
  });
  after(async () => stopAll(redis));

  test('finding 7: the probe port binds HOST and has no /metrics; the management listener has both', async () => {
    assert.equal((await fetch(`${w.url}/health/ready`)).status, 200);
    const onProbe = await fetch(`${w.url}/metrics`);
    assert.equal(onProbe.status, 404);
    await onProbe.arrayBuffer();
    const metrics = await fetch(`${w.managementUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /captioner_/);
    assert.ok(
      await refused(w.port, '127.0.0.2'),
      'the probe port binds HOST (127.0.0.1), not every interface',
    );
    assert.ok(await refused(w.managementPort, '127.0.0.2'), 'the management port binds MANAGEMENT_HOST');
  });
});
