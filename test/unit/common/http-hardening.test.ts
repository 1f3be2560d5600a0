import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeController } from './probe.controller';
import { createTestApp, type TestApp } from './test-app';
import { hs256 } from './tokens';

function assertSecurityHeaders(headers: Record<string, unknown>, where: string): void {
  assert.match(String(headers['strict-transport-security']), /max-age=31536000; includeSubDomains/, where);
  assert.equal(headers['x-content-type-options'], 'nosniff', where);
  assert.match(String(headers['content-security-policy']), /frame-ancestors 'none'/, where);
  assert.equal(headers['x-frame-options'], 'DENY', where);
}

describe('every answer is hardened', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ controllers: [ProbeController], env: { RATE_LIMIT_LIMIT: '1' } });
  });
  after(async () => t.close());

  test('successes, 401, 403, 404, 413, 429, 500 and probes carry HSTS, nosniff, frame-ancestors and no-store', async () => {
    const token = await hs256({ sub: 'erin', scope: 'caption:read' });
    const cases: [string, Parameters<TestApp['app']['inject']>[0]][] = [
      ['200', { url: '/api/v1/probe/open' }],
      ['401', { url: '/api/v1/probe/read' }],
      [
        '403',
        {
          url: '/api/v1/probe/read',
          headers: { authorization: `Bearer ${await hs256({ sub: 'x', scope: 'none' })}` },
        },
      ],
      ['200 authed', { url: '/api/v1/probe/read', headers: { authorization: `Bearer ${token}` } }],
      ['429', { url: '/api/v1/probe/read', headers: { authorization: `Bearer ${token}` } }],
      ['404', { url: '/api/v1/nope' }],
      ['404 outside api', { url: '/nope' }],
      [
        '413',
        {
          method: 'POST',
          url: '/api/v1/probe/validate',
          payload: { image_base64: 'A'.repeat(20 * 1024 * 1024) },
        },
      ],
      ['500', { url: '/api/v1/probe/boom' }],
      ['live', { url: '/health/live' }],
    ];
    const seen: number[] = [];
    for (const [name, request] of cases) {
      const res = await t.app.inject(request);
      seen.push(res.statusCode);
      assertSecurityHeaders(res.headers, name);
      assert.equal(res.headers['cache-control'], 'no-store', name);
      assert.ok(res.headers['x-request-id'], name);
    }
    assert.deepEqual(seen, [200, 401, 403, 200, 429, 404, 404, 413, 500, 200]);
  });

  test('a sane incoming X-Request-Id is kept; anything else is replaced by a UUID', async () => {
    const kept = await t.app.inject({
      url: '/api/v1/probe/open',
      headers: { 'x-request-id': 'lb-1234.abc' },
    });
    assert.equal(kept.headers['x-request-id'], 'lb-1234.abc');
    for (const bad of ['has spaces', 'x'.repeat(200), 'new\u0000line', '<script>']) {
      const res = await t.app.inject({ url: '/api/v1/nope', headers: { 'x-request-id': bad } });
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/, JSON.stringify(bad));
      assert.equal(res.json().request_id, res.headers['x-request-id']);
    }
  });

  test('the request id is on the access log line of the request', async () => {
    await t.app.inject({ url: '/api/v1/probe/open', headers: { 'x-request-id': 'trace-me-42' } });
    const line = t.logs.lines().find((l) => l.request_id === 'trace-me-42');
    assert.ok(line, 'access log line with the request id');
    assert.equal((line.res as { statusCode: number }).statusCode, 200);
  });

  test('the Swagger UI gets a CSP that lets it run; the JSON API keeps default-src none', async () => {
    const ui = await t.app.inject({ url: '/docs' });
    assert.equal(ui.statusCode, 200);
    assert.match(String(ui.headers['content-type']), /text\/html/);
    assert.match(String(ui.headers['content-security-policy']), /script-src 'self'/);
    assert.match(String(ui.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.doesNotMatch(ui.body, /<script>[^<]/, 'no inline script');
    for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js']) {
      assert.equal((await t.app.inject({ url: asset })).statusCode, 200, asset);
    }
    const api = await t.app.inject({ url: '/api/v1/probe/open' });
    assert.match(String(api.headers['content-security-policy']), /default-src 'none'/);
  });

  test('the OpenAPI document has the bearer scheme and the problem answers of @Auth routes', async () => {
    const res = await t.app.inject({ url: '/docs-json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    const read = doc.paths['/api/v1/probe/read'].get;
    assert.deepEqual(read.security, [{ bearer: [] }]);
    for (const status of ['401', '403', '429']) {
      assert.ok(read.responses[status].content['application/problem+json'], status);
    }
    assert.ok(doc.components.schemas.ProblemDto);
    assert.equal(doc.paths['/metrics'], undefined, '/metrics is not part of the API document');
    assert.ok(doc.paths['/health/ready']);
  });
});

describe('proxy trust', () => {
  test('with TRUST_PROXY_HOPS=0, X-Forwarded-For is ignored', async () => {
    const t = await createTestApp({ controllers: [ProbeController], env: { TRUST_PROXY_HOPS: '0' } });
    try {
      const res = await t.app.inject({
        url: '/api/v1/probe/whoami-ip',
        remoteAddress: '10.0.0.9',
        headers: { 'x-forwarded-for': '6.6.6.6' },
      });
      assert.equal(res.json().ip, '10.0.0.9');
    } finally {
      await t.close();
    }
  });

  test('with TRUST_PROXY_HOPS=1, only the last hop is believed', async () => {
    const t = await createTestApp({ controllers: [ProbeController], env: { TRUST_PROXY_HOPS: '1' } });
    try {
      const res = await t.app.inject({
        url: '/api/v1/probe/whoami-ip',
        remoteAddress: '10.0.0.9',
        headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' },
      });
      assert.equal(res.json().ip, '198.51.100.7');
    } finally {
      await t.close();
    }
  });
});
