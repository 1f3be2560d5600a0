/** Issue 6 item 14: the limit holds across two API instances sharing Redis, whatever X-Forwarded-For says. */
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';
import { ProbeController } from '../../unit/common/probe.controller';
import { createTestApp, type TestApp } from '../../unit/common/test-app';
import { hs256 } from '../../unit/common/tokens';

let skip: string | undefined;
let a: TestApp | undefined;
let b: TestApp | undefined;

before(async () => {
  skip = await sharedRedisOrSkip();
  if (skip) return;
  const env = {
    REDIS_URL: sharedRedisUrl,
    RATE_LIMIT_LIMIT: '4',
    RATE_LIMIT_TTL_SECONDS: '60',
    TRUST_PROXY_HOPS: '1',
  };
  a = await createTestApp({ controllers: [ProbeController], env });
  b = await createTestApp({ controllers: [ProbeController], env });
});

after(async () => {
  await a?.close();
  await b?.close();
});

test('a subject limited on one instance is limited on the other, spoofed X-Forwarded-For or not', async (t) => {
  if (skip || !a || !b) return t.skip(skip);
  const [first, second]: TestApp[] = [a, b];
  const sub = `replica-${randomUUID()}`;
  const headers = async (ip: string): Promise<Record<string, string>> => ({
    authorization: `Bearer ${await hs256({ sub, scope: 'caption:read' })}`,
    'x-forwarded-for': ip,
  });
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const app: TestApp = i % 2 === 0 ? first : second;
    const res = await app.app.inject({
      url: '/api/v1/probe/read',
      headers: await headers(`198.51.100.${i + 1}`),
    });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) {
      assert.ok(Number(res.headers['retry-after']) >= 1);
      assert.equal(res.headers['x-ratelimit-remaining'], '0');
    }
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  const other = await second.app.inject({
    url: '/api/v1/probe/read',
    headers: {
      authorization: `Bearer ${await hs256({ sub: `other-${randomUUID()}`, scope: 'caption:read' })}`,
    },
  });
  assert.equal(other.statusCode, 200);
});
