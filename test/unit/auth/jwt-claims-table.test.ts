/**
 * Issue 12 finding 5: the token checks jsonwebtoken does not make. `crit` (RFC 7515 section 4.1.11:
 * this server understands no extension, so any `crit` is refused), `iat` in the future beyond
 * JWT_CLOCK_SKEW_SECONDS, the clock skew on exp, and JWT_MAX_LIFETIME_SECONDS (exp - iat, iat then
 * required). Tokens are built by hand (jose refuses to sign most of these); no token reaches the log.
 */
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { criticalHeadersUnderstood, timeProblem } from '../../../src/auth/jwt.strategy';
import { ProbeController } from '../common/probe.controller';
import { AUDIENCE, createTestApp, ISSUER, TEST_SECRET, type TestApp } from '../common/test-app';

const READ = '/api/v1/probe/read';

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An HS256 token with exactly this header and these claims (iss, aud, sub and scope added). */
function token(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const body = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', scope: 'caption:read', ...claims };
  const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(body)}`;
  return `${signingInput}.${createHmac('sha256', TEST_SECRET).update(signingInput).digest('base64url')}`;
}

const now = (): number => Math.floor(Date.now() / 1000);

interface Row {
  name: string;
  header?: Record<string, unknown>;
  claims: () => Record<string, unknown>;
  status: 200 | 401;
}

async function runTable(t: () => TestApp, rows: Row[], sent: string[]): Promise<void> {
  for (const row of rows) {
    const jwt = token(row.header ?? {}, row.claims());
    sent.push(jwt);
    const res = await t().app.inject({ url: READ, headers: { authorization: `Bearer ${jwt}` } });
    assert.equal(res.statusCode, row.status, `${row.name}: ${res.body}`);
    if (row.status === 401) {
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', row.name);
      assert.equal(res.headers.connection, 'close', `${row.name}: the connection is closed`);
    }
  }
}

function assertNoTokenInLogs(t: TestApp, sent: string[]): void {
  const logs = t.logs.text();
  assert.ok(logs.length > 0, 'the requests were logged');
  for (const jwt of sent) {
    for (const part of jwt.split('.'))
      assert.ok(!logs.includes(part), `a token part reached the log: ${part}`);
  }
}

const valid = (): Record<string, unknown> => ({ iat: now(), exp: now() + 600 });

describe('crit and iat with the default skew (5 s) and no lifetime limit', () => {
  let t: TestApp;
  const sent: string[] = [];
  before(async () => {
    t = await createTestApp({ controllers: [ProbeController] });
  });
  after(async () => t.close());

  const rows: Row[] = [
    { name: 'plain valid token', claims: valid, status: 200 },
    {
      name: 'an unknown header parameter not marked critical is ignored',
      header: { x: 1 },
      claims: valid,
      status: 200,
    },
    {
      name: 'crit naming an unknown extension',
      header: { crit: ['x-ext'], 'x-ext': 1 },
      claims: valid,
      status: 401,
    },
    {
      name: 'crit b64 (RFC 7797, not supported)',
      header: { crit: ['b64'], b64: false },
      claims: valid,
      status: 401,
    },
    { name: 'crit naming an absent parameter', header: { crit: ['x-absent'] }, claims: valid, status: 401 },
    { name: 'crit naming a registered parameter', header: { crit: ['alg'] }, claims: valid, status: 401 },
    { name: 'crit empty', header: { crit: [] }, claims: valid, status: 401 },
    { name: 'crit not an array', header: { crit: 'x-ext', 'x-ext': 1 }, claims: valid, status: 401 },
    { name: 'crit with a non-string', header: { crit: [1] }, claims: valid, status: 401 },
    { name: 'iat an hour ahead', claims: () => ({ iat: now() + 3600, exp: now() + 7200 }), status: 401 },
    { name: 'iat 60 s ahead', claims: () => ({ iat: now() + 60, exp: now() + 600 }), status: 401 },
    {
      name: 'iat 2 s ahead (within the skew)',
      claims: () => ({ iat: now() + 2, exp: now() + 600 }),
      status: 200,
    },
    { name: 'iat not a number', claims: () => ({ iat: 'now', exp: now() + 600 }), status: 401 },
    { name: 'no iat (no lifetime limit)', claims: () => ({ exp: now() + 600 }), status: 200 },
    {
      name: 'a ten-year token (no lifetime limit)',
      claims: () => ({ iat: now(), exp: now() + 315_360_000 }),
      status: 200,
    },
  ];

  test('the table', async () => {
    await runTable(() => t, rows, sent);
  });

  test('no token reaches the log', () => {
    assertNoTokenInLogs(t, sent);
  });
});

describe('JWT_CLOCK_SKEW_SECONDS=0 and JWT_MAX_LIFETIME_SECONDS=3600', () => {
  let t: TestApp;
  const sent: string[] = [];
  before(async () => {
    t = await createTestApp({
      controllers: [ProbeController],
      env: { JWT_CLOCK_SKEW_SECONDS: '0', JWT_MAX_LIFETIME_SECONDS: '3600' },
    });
  });
  after(async () => t.close());

  const rows: Row[] = [
    { name: 'one hour exactly', claims: () => ({ iat: now(), exp: now() + 3600 }), status: 200 },
    { name: 'one hour and a second', claims: () => ({ iat: now(), exp: now() + 3601 }), status: 401 },
    { name: 'a day', claims: () => ({ iat: now() - 10, exp: now() + 86_400 }), status: 401 },
    { name: 'no iat when a lifetime limit is set', claims: () => ({ exp: now() + 60 }), status: 401 },
    { name: 'expired 3 s ago (no skew)', claims: () => ({ iat: now() - 60, exp: now() - 3 }), status: 401 },
    { name: 'iat 3 s ahead (no skew)', claims: () => ({ iat: now() + 3, exp: now() + 600 }), status: 401 },
    {
      name: 'nbf 3 s ahead (no skew)',
      claims: () => ({ iat: now(), nbf: now() + 3, exp: now() + 600 }),
      status: 401,
    },
    { name: 'crit still refused', header: { crit: ['x'], x: 1 }, claims: valid, status: 401 },
  ];

  test('the table', async () => {
    await runTable(() => t, rows, sent);
  });

  test('no token reaches the log', () => {
    assertNoTokenInLogs(t, sent);
  });
});

test('criticalHeadersUnderstood and timeProblem in isolation', () => {
  assert.equal(criticalHeadersUnderstood({ alg: 'HS256' }), true);
  assert.equal(criticalHeadersUnderstood({ alg: 'HS256', crit: ['x'], x: 1 }), false);
  const settings = { JWT_CLOCK_SKEW_SECONDS: 5, JWT_MAX_LIFETIME_SECONDS: 0 };
  assert.equal(timeProblem({ iat: 1000, exp: 2000 }, settings, 1000), undefined);
  assert.equal(timeProblem({ iat: 1006, exp: 2000 }, settings, 1000), 'iat in the future');
  assert.equal(timeProblem({ iat: 1005, exp: 2000 }, settings, 1000), undefined);
  assert.equal(timeProblem({ iat: 1000 }, settings, 1000), 'no exp');
  const limited = { JWT_CLOCK_SKEW_SECONDS: 5, JWT_MAX_LIFETIME_SECONDS: 100 };
  assert.equal(timeProblem({ iat: 1000, exp: 1100 }, limited, 1000), undefined);
  assert.equal(timeProblem({ iat: 1000, exp: 1101 }, limited, 1000), 'lifetime too long');
  assert.equal(timeProblem({ exp: 1100 }, limited, 1000), 'no iat');
});
