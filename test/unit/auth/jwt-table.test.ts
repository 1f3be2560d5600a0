/** The JWT table of issue 6 (item 12) over HTTP, against a test controller guarded by @Auth(). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK } from 'jose';
import { ProbeController } from '../common/probe.controller';
import { createTestApp, TEST_SECRET, type TestApp } from '../common/test-app';
import { ecKeyPair, hs256, hs256WithPublicKey, rsaKeyPair, signWith, unsigned } from '../common/tokens';

const READ = '/api/v1/probe/read';

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function assertUnauthorized(res: {
  statusCode: number;
  headers: Record<string, unknown>;
  json: () => unknown;
}): void {
  assert.equal(res.statusCode, 401);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.match(String(res.headers['www-authenticate']), /^Bearer realm="captioner"/);
  assert.equal((res.json() as { type: string }).type, 'urn:captioner:problem:auth.unauthorized');
}

describe('HS256 secret', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ controllers: [ProbeController] });
  });
  after(async () => t.close());

  test('a valid token with the scope passes and @CurrentSubject() is its sub', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ sub: 'alice', scope: 'caption:read' })),
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { sub: 'alice' });
  });

  test('scopes may come from an `scp` array', async () => {
    const res = await t.app.inject({ url: READ, headers: bearer(await hs256({ scp: ['caption:read'] })) });
    assert.equal(res.statusCode, 200);
  });

  test('no Authorization header -> 401 with a bare Bearer challenge', async () => {
    const res = await t.app.inject({ url: READ });
    assertUnauthorized(res);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="captioner"');
  });

  test('a token in the query string is not accepted -> 401', async () => {
    const token = await hs256({ scope: 'caption:read' });
    for (const name of ['access_token', 'token']) {
      const res = await t.app.inject({ url: `${READ}?${name}=${token}` });
      assertUnauthorized(res);
    }
    assert.doesNotMatch(t.logs.text(), new RegExp(token.split('.')[2]!), 'the token never reaches the logs');
  });

  const malformed = [
    'Bearer',
    'Bearer ',
    'Basic YWxpY2U6c2VjcmV0',
    'Bearer a.b',
    'Bearer not-a-jwt',
    'bearer',
    'Token x.y.z',
  ];
  for (const header of malformed) {
    test(`malformed Authorization header ${JSON.stringify(header)} -> 401`, async () => {
      assertUnauthorized(await t.app.inject({ url: READ, headers: { authorization: header } }));
    });
  }

  test('alg none -> 401', async () => {
    const res = await t.app.inject({ url: READ, headers: bearer(unsigned({ scope: 'caption:read' })) });
    assertUnauthorized(res);
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  });

  test('expired -> 401 saying so', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ scope: 'caption:read', expiresIn: -60 })),
    });
    assertUnauthorized(res);
    assert.match((res.json() as { detail: string }).detail, /expired/);
  });

  test('expired within the 5 s clock tolerance still passes', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ scope: 'caption:read', expiresIn: -2 })),
    });
    assert.equal(res.statusCode, 200);
  });

  test('nbf in the future -> 401', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ scope: 'caption:read', notBefore: 120 })),
    });
    assertUnauthorized(res);
  });

  test('no exp at all -> 401', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ scope: 'caption:read', expiresIn: null })),
    });
    assertUnauthorized(res);
  });

  test('wrong issuer -> 401', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ scope: 'caption:read', iss: 'evil' })),
    });
    assertUnauthorized(res);
  });

  test('wrong audience -> 401', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ scope: 'caption:read', aud: 'other-api' })),
    });
    assertUnauthorized(res);
  });

  test('signed with another secret -> 401', async () => {
    const token = await hs256({ scope: 'caption:read' }, `${TEST_SECRET}-but-not-quite`);
    assertUnauthorized(await t.app.inject({ url: READ, headers: bearer(token) }));
  });

  test('an RS256 token when the API is configured for HS256 -> 401', async () => {
    const { privateKey } = rsaKeyPair();
    const token = await signWith(privateKey, 'RS256', { scope: 'caption:read' });
    assertUnauthorized(await t.app.inject({ url: READ, headers: bearer(token) }));
  });

  test('missing scope -> 403 with an insufficient_scope challenge', async () => {
    const res = await t.app.inject({ url: READ, headers: bearer(await hs256({ scope: 'caption:write' })) });
    assert.equal(res.statusCode, 403);
    const body = res.json();
    assert.equal(body.type, 'urn:captioner:problem:auth.insufficient_scope');
    assert.deepEqual(body.required_scopes, ['caption:read']);
    assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope", scope="caption:read"/);
  });

  test('a scope that only contains the required one as a substring does not count', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ scope: 'caption:readonly' })),
    });
    assert.equal(res.statusCode, 403);
  });

  test('a subject-less token -> 401', async () => {
    const res = await t.app.inject({
      url: READ,
      headers: bearer(await hs256({ sub: '', scope: 'caption:read' })),
    });
    assertUnauthorized(res);
  });

  test('tokens never appear in the logs', async () => {
    const token = await hs256({ scope: 'caption:read' });
    await t.app.inject({ url: READ, headers: bearer(token) });
    await t.app.inject({ url: '/api/v1/nowhere', headers: bearer(token) });
    const logs = t.logs.text();
    assert.ok(logs.includes('/api/v1/probe/read'), 'requests are logged');
    assert.doesNotMatch(logs, new RegExp(token.split('.')[1]!));
  });
});

describe('RS256 public key', () => {
  const rsa = rsaKeyPair();
  let t: TestApp;
  before(async () => {
    // One-line PEM with \n escapes, as in a .env file.
    t = await createTestApp({
      controllers: [ProbeController],
      env: { JWT_SECRET: undefined, JWT_PUBLIC_KEY: rsa.publicPem.replace(/\n/g, '\\n') },
    });
  });
  after(async () => t.close());

  test('a valid RS256 token passes', async () => {
    const token = await signWith(rsa.privateKey, 'RS256', { scope: 'caption:read' });
    assert.equal((await t.app.inject({ url: READ, headers: bearer(token) })).statusCode, 200);
  });

  test('HS256 signed with the RS256 public key -> 401 (algorithm confusion)', async () => {
    for (const pem of [rsa.publicPem, rsa.publicPem.replace(/\n/g, '\\n')]) {
      const token = await hs256WithPublicKey(pem, { scope: 'caption:read' });
      assertUnauthorized(await t.app.inject({ url: READ, headers: bearer(token) }));
    }
  });

  test('alg none -> 401', async () => {
    assertUnauthorized(
      await t.app.inject({ url: READ, headers: bearer(unsigned({ scope: 'caption:read' })) }),
    );
  });

  test('signed by another RSA key -> 401', async () => {
    const token = await signWith(rsaKeyPair().privateKey, 'RS256', { scope: 'caption:read' });
    assertUnauthorized(await t.app.inject({ url: READ, headers: bearer(token) }));
  });
});

describe('ES256 public key', () => {
  const ec = ecKeyPair();
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      controllers: [ProbeController],
      env: { JWT_SECRET: undefined, JWT_PUBLIC_KEY: ec.publicPem },
    });
  });
  after(async () => t.close());

  test('a valid ES256 token passes; an RS256 one does not', async () => {
    const good = await signWith(ec.privateKey, 'ES256', { scope: 'caption:read' });
    assert.equal((await t.app.inject({ url: READ, headers: bearer(good) })).statusCode, 200);
    const rs = await signWith(rsaKeyPair().privateKey, 'RS256', { scope: 'caption:read' });
    assertUnauthorized(await t.app.inject({ url: READ, headers: bearer(rs) }));
  });
});

describe('JWKS URL', () => {
  const rsa = rsaKeyPair();
  let jwks: Server;
  let jwksUrl: string;
  let t: TestApp;
  before(async () => {
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    t = await createTestApp({
      controllers: [ProbeController],
      env: { JWT_SECRET: undefined, JWT_JWKS_URL: jwksUrl },
    });
  });
  after(async () => {
    await t.close();
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  });

  test('a token signed by a key of the set passes', async () => {
    const token = await signWith(rsa.privateKey, 'RS256', { scope: 'caption:read' }, 'k1');
    assert.equal((await t.app.inject({ url: READ, headers: bearer(token) })).statusCode, 200);
  });

  test('an unknown kid -> 401', async () => {
    const token = await signWith(rsaKeyPair().privateKey, 'RS256', { scope: 'caption:read' }, 'k2');
    assertUnauthorized(await t.app.inject({ url: READ, headers: bearer(token) }));
  });

  test('HS256 with the public key, and alg none -> 401', async () => {
    assertUnauthorized(
      await t.app.inject({
        url: READ,
        headers: bearer(await hs256WithPublicKey(rsa.publicPem, { scope: 'caption:read' })),
      }),
    );
    assertUnauthorized(
      await t.app.inject({ url: READ, headers: bearer(unsigned({ scope: 'caption:read' })) }),
    );
  });
});

describe('JWKS URL that does not answer', () => {
  let t: TestApp;
  before(async () => {
    // A port nothing listens on: the key fetch fails at once.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    t = await createTestApp({
      controllers: [ProbeController],
      env: { JWT_SECRET: undefined, JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json` },
    });
  });
  after(async () => t.close());

  test('is a 503 problem (the service is degraded), not a 401 or a 500', async () => {
    const token = await signWith(rsaKeyPair().privateKey, 'RS256', { scope: 'caption:read' }, 'k1');
    const res = await t.app.inject({ url: READ, headers: bearer(token) });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().type, 'urn:captioner:problem:auth.keys_unavailable');
    assert.equal(res.headers['retry-after'], '5');
  });

  test('a garbage token is still a 401 (no fetch needed to refuse it)', async () => {
    assertUnauthorized(await t.app.inject({ url: READ, headers: bearer('x.y.z') }));
  });
});
