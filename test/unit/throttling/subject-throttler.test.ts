import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Reflector } from '@nestjs/core';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { SubjectThrottlerGuard } from '../../../src/throttling/subject-throttler.guard';
import { RedisThrottlerStorage } from '../../../src/throttling/redis-throttler.storage';
import { ProbeController } from '../common/probe.controller';
import { createTestApp, type TestApp } from '../common/test-app';
import { hs256 } from '../common/tokens';

class ExposedGuard extends SubjectThrottlerGuard {
  tracker(req: Record<string, unknown>): Promise<string> {
    return this.getTracker(req);
  }
}

describe('the tracker is the token subject', () => {
  const guard = new ExposedGuard({ throttlers: [] }, new ThrottlerStorageService(), new Reflector());

  test('it is the sub, whatever the IP or X-Forwarded-For', async () => {
    const a = await guard.tracker({ user: { sub: 'alice', scopes: [] }, ip: '10.0.0.1', headers: {} });
    const b = await guard.tracker({
      user: { sub: 'alice', scopes: [] },
      ip: '10.9.9.9',
      headers: { 'x-forwarded-for': '1.2.3.4' },
    });
    assert.equal(a, 'sub:alice');
    assert.equal(b, a);
    assert.notEqual(await guard.tracker({ user: { sub: 'bob', scopes: [] } }), a);
  });

  test('without an authenticated subject it refuses to guess (never falls back to the IP)', async () => {
    await assert.rejects(guard.tracker({ ip: '10.0.0.1' }), /authenticated subject/);
  });
});

describe('per-subject limit over HTTP (in-memory storage)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      controllers: [ProbeController],
      env: { RATE_LIMIT_LIMIT: '3', RATE_LIMIT_TTL_SECONDS: '60', TRUST_PROXY_HOPS: '1' },
    });
  });
  after(async () => t.close());

  test('the limit+1-th request is a 429 problem with Retry-After and X-RateLimit-*; others are unaffected', async () => {
    const alice = { authorization: `Bearer ${await hs256({ sub: 'alice', scope: 'caption:read' })}` };
    for (let i = 1; i <= 3; i++) {
      const ok = await t.app.inject({ url: '/api/v1/probe/read', headers: alice });
      assert.equal(ok.statusCode, 200, `request ${i}`);
      assert.equal(ok.headers['x-ratelimit-limit'], '3');
      assert.equal(ok.headers['x-ratelimit-remaining'], String(3 - i));
    }
    const limited = await t.app.inject({ url: '/api/v1/probe/read', headers: alice });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(limited.json().type, 'urn:captioner:problem:rate_limit.exceeded');
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(limited.headers['x-ratelimit-limit'], '3');
    assert.equal(limited.headers['x-ratelimit-remaining'], '0');
    assert.ok(Number(limited.headers['x-ratelimit-reset']) >= 1);

    const bob = { authorization: `Bearer ${await hs256({ sub: 'bob', scope: 'caption:read' })}` };
    assert.equal((await t.app.inject({ url: '/api/v1/probe/read', headers: bob })).statusCode, 200);
  });

  test('a spoofed X-Forwarded-For or a fresh token for the same subject does not reset the limit', async () => {
    const carol = async (): Promise<Record<string, string>> => ({
      authorization: `Bearer ${await hs256({ sub: 'carol', scope: 'caption:read' })}`,
    });
    for (let i = 0; i < 3; i++) await t.app.inject({ url: '/api/v1/probe/read', headers: await carol() });
    for (const ip of ['1.1.1.1', '2.2.2.2', '203.0.113.9']) {
      const res = await t.app.inject({
        url: '/api/v1/probe/read',
        headers: { ...(await carol()), 'x-forwarded-for': ip },
        remoteAddress: '10.0.0.2',
      });
      assert.equal(res.statusCode, 429, `X-Forwarded-For ${ip}`);
    }
  });

  test('a 429 comes before the scope check (hammering without the scope is limited too)', async () => {
    const dave = { authorization: `Bearer ${await hs256({ sub: 'dave', scope: 'other' })}` };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await t.app.inject({ url: '/api/v1/probe/read', headers: dave })).statusCode);
    assert.deepEqual(statuses, [403, 403, 403, 429, 429]);
  });

  test('unauthenticated requests are refused before they count', async () => {
    const res = await t.app.inject({ url: '/api/v1/probe/read' });
    assert.equal(res.statusCode, 401);
  });

  test('probes are never limited', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await t.app.inject({ url: '/health/live' })).statusCode, 200);
  });
});

describe('Redis throttler storage fails open', () => {
  test('with Redis unreachable a check is allowed, counted and quick', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    let failOpen = 0;
    const storage = new RedisThrottlerStorage(`redis://127.0.0.1:${port}`, { onFailOpen: () => failOpen++ });
    await storage.onModuleInit();
    try {
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        const record = await storage.increment('k', 60_000, 1, 60_000, 'default');
        assert.equal(record.isBlocked, false);
      }
      assert.equal(failOpen, 5);
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    } finally {
      await storage.onModuleDestroy();
    }
  });
});
