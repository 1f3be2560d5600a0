/**
 * A token verified once is not verified again while it is in time, with exactly the answers a full
 * verification gives: the time rules are checked on each use, and anything else is a different token.
 */
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VerifiedTokens } from '../../../src/auth/verified-tokens';
import { ProbeController } from '../common/probe.controller';
import { AUDIENCE, createTestApp, ISSUER, TEST_SECRET, type TestApp } from '../common/test-app';

const READ = '/api/v1/probe/read';
const subject = { sub: 'alice', scopes: ['caption:read'] };

describe('VerifiedTokens: the time rules on every use', () => {
  test('exp, nbf and a future iat are judged as jsonwebtoken and timeProblem judge them, with the skew', () => {
    const tokens = new VerifiedTokens(5);
    tokens.set('t', subject, { exp: 1000, nbf: 900, iat: 900 });
    assert.deepEqual(tokens.get('t', 994), subject);
    assert.deepEqual(tokens.get('t', 1004), subject, 'exp + skew not reached');
    assert.equal(tokens.get('t', 1005), undefined, 'now >= exp + skew: expired');
    assert.equal(tokens.get('t', 994), undefined, 'an expired entry is gone: verified again in full');

    tokens.set('n', subject, { exp: 2000, nbf: 1000 });
    assert.equal(tokens.get('n', 994), undefined, 'nbf > now + skew');
    tokens.set('n', subject, { exp: 2000, nbf: 1000 });
    assert.deepEqual(tokens.get('n', 995), subject);

    tokens.set('i', subject, { exp: 2000, iat: 1000 });
    assert.equal(tokens.get('i', 994), undefined, 'iat > now + skew');
  });

  test('each use gets its own copy of the subject', () => {
    const tokens = new VerifiedTokens(0);
    tokens.set('t', subject, { exp: 2000 });
    const a = tokens.get('t', 1000);
    a?.scopes.push('caption:write');
    assert.deepEqual(tokens.get('t', 1000), subject);
  });

  test('bounded: past maxEntries the oldest goes first', () => {
    const tokens = new VerifiedTokens(0, 2);
    for (const t of ['a', 'b', 'c']) tokens.set(t, subject, { exp: 2000 });
    assert.equal(tokens.get('a', 1000), undefined);
    assert.ok(tokens.get('b', 1000));
    assert.ok(tokens.get('c', 1000));
  });
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function token(claims: Record<string, unknown>, secret = TEST_SECRET): string {
  const body = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', scope: 'caption:read', ...claims };
  const signingInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(body)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

describe('over HTTP: a token used again', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ controllers: [ProbeController], env: { JWT_CLOCK_SKEW_SECONDS: '0' } });
  });
  after(async () => t.close());

  const get = (jwt: string) => t.app.inject({ url: READ, headers: { authorization: `Bearer ${jwt}` } });

  test('passes again as the same subject; a forged signature or another sub is verified on its own', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = token({ exp: now + 600 });
    for (let i = 0; i < 3; i++) {
      const res = await get(good);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { sub: 'alice' });
    }
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${createHmac('sha256', 'another-secret-0123456789abcdef0123').update('x').digest('base64url')}`;
    assert.equal((await get(forged)).statusCode, 401);
    assert.equal(
      (await get(token({ exp: now + 600 }, 'wrong-secret-0123456789abcdef0123456789'))).statusCode,
      401,
    );
    const bob = await get(token({ exp: now + 600, sub: 'bob' }));
    assert.deepEqual(bob.json(), { sub: 'bob' });
  });

  test('a remembered token that has since expired is refused as expired', async () => {
    // exp at the start of the next second (no skew here): valid now, expired in under 2 s.
    const exp = Math.floor(Date.now() / 1000) + 1;
    const jwt = token({ exp });
    assert.equal((await get(jwt)).statusCode, 200);
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
    const res = await get(jwt);
    assert.equal(res.statusCode, 401);
    assert.match(String(res.headers['www-authenticate']), /expired/);
  });
});
