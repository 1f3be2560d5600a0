/** The Redis throttler storage against a real Redis: atomic counting, windows, blocks, replicas, outages. */
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisThrottlerStorage } from '../../../src/throttling/redis-throttler.storage';
import { PrivateRedis, sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';
import { sleep, waitFor } from '../../helpers/time';

let skip: string | undefined;
before(async () => {
  skip = await sharedRedisOrSkip();
});

async function connectedStorage(url: string, onFailOpen?: () => void): Promise<RedisThrottlerStorage> {
  const storage = new RedisThrottlerStorage(url, { onFailOpen });
  await storage.onModuleInit();
  return storage;
}

describe('RedisThrottlerStorage on the shared Redis', () => {
  const storages: RedisThrottlerStorage[] = [];
  const open = async (): Promise<RedisThrottlerStorage> => {
    const s = await connectedStorage(sharedRedisUrl);
    storages.push(s);
    return s;
  };
  after(async () => {
    await Promise.all(storages.map((s) => s.onModuleDestroy()));
  });

  test('50 concurrent hits with limit 10: exactly 10 pass (the script is atomic)', async (t) => {
    if (skip) return t.skip(skip);
    const storage = await open();
    const key = randomUUID();
    const records = await Promise.all(
      Array.from({ length: 50 }, () => storage.increment(key, 60_000, 10, 60_000, 'default')),
    );
    assert.equal(records.filter((r) => !r.isBlocked).length, 10);
    const hits = records.map((r) => r.totalHits).sort((a, b) => a - b);
    assert.deepEqual(hits.slice(0, 11), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    for (const r of records.filter((x) => x.isBlocked)) {
      assert.ok(r.timeToBlockExpire >= 1 && r.timeToBlockExpire <= 60, `block ${r.timeToBlockExpire}`);
    }
  });

  test('two replicas (two clients) share one count', async (t) => {
    if (skip) return t.skip(skip);
    const [a, b] = [await open(), await open()];
    const key = randomUUID();
    assert.equal((await a.increment(key, 60_000, 3, 60_000, 'default')).totalHits, 1);
    assert.equal((await b.increment(key, 60_000, 3, 60_000, 'default')).totalHits, 2);
    assert.equal((await a.increment(key, 60_000, 3, 60_000, 'default')).isBlocked, false);
    assert.equal((await b.increment(key, 60_000, 3, 60_000, 'default')).isBlocked, true);
    assert.equal((await a.increment(key, 60_000, 3, 60_000, 'default')).isBlocked, true);
  });

  test('bursts of one subject on two replicas: exactly the limit passes, each count given once', async (t) => {
    if (skip) return t.skip(skip);
    const [a, b] = [await open(), await open()];
    const key = randomUUID();
    // Each storage sends one call and gathers the rest of its burst into the next one.
    const records = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? a : b).increment(key, 60_000, 25, 60_000, 'default'),
      ),
    );
    const passed = records.filter((r) => !r.isBlocked).map((r) => r.totalHits);
    assert.deepEqual(
      passed.sort((x, y) => x - y),
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    for (const r of records.filter((x) => x.isBlocked)) assert.equal(r.totalHits, 26);
    // Blocked checks did not count: the next one still reads the window's 26.
    const later = await a.increment(key, 60_000, 25, 60_000, 'default');
    assert.equal(later.isBlocked, true);
    assert.equal(later.totalHits, 26);
  });

  test('the window and the block expire; blocked hits do not extend the block', async (t) => {
    if (skip) return t.skip(skip);
    const storage = await open();
    const key = randomUUID();
    const first = await storage.increment(key, 600, 1, 600, 'default');
    assert.equal(first.isBlocked, false);
    assert.equal(first.timeToExpire, 1);
    assert.equal((await storage.increment(key, 600, 1, 600, 'default')).isBlocked, true);
    await sleep(300);
    assert.equal((await storage.increment(key, 600, 1, 600, 'default')).isBlocked, true);
    await sleep(450);
    const again = await storage.increment(key, 600, 1, 600, 'default');
    assert.equal(again.isBlocked, false, 'allowed again once the block expired');
    assert.equal(again.totalHits, 1);
  });

  test('keys of different throttlers and subjects are independent', async (t) => {
    if (skip) return t.skip(skip);
    const storage = await open();
    const key = randomUUID();
    await storage.increment(key, 60_000, 1, 60_000, 'default');
    assert.equal((await storage.increment(key, 60_000, 1, 60_000, 'burst')).isBlocked, false);
    assert.equal((await storage.increment(randomUUID(), 60_000, 1, 60_000, 'default')).isBlocked, false);
  });
});

describe('RedisThrottlerStorage when its Redis goes away and comes back', () => {
  test('fails open quickly while Redis is down, counts the failures, and recovers by itself', async (t) => {
    if (skip) return t.skip(skip);
    const redis = await PrivateRedis.start();
    let failOpen = 0;
    const storage = await connectedStorage(redis.url, () => failOpen++);
    try {
      const key = randomUUID();
      assert.equal((await storage.increment(key, 60_000, 1, 60_000, 'default')).isBlocked, false);
      assert.equal((await storage.increment(key, 60_000, 1, 60_000, 'default')).isBlocked, true);

      await redis.stop();
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        assert.equal(
          (await storage.increment(key, 60_000, 1, 60_000, 'default')).isBlocked,
          false,
          'fails open',
        );
      }
      assert.ok(Date.now() - started < 2000, `5 checks during the outage took ${Date.now() - started} ms`);
      assert.ok(failOpen >= 5);

      await redis.start();
      await waitFor(
        'the throttler to reach Redis again',
        async () =>
          (await storage.ping().then(
            () => true,
            () => false,
          ))
            ? true
            : undefined,
        20_000,
        100,
      );
      const before = failOpen;
      const fresh = randomUUID();
      assert.equal((await storage.increment(fresh, 60_000, 1, 60_000, 'default')).isBlocked, false);
      assert.equal(
        (await storage.increment(fresh, 60_000, 1, 60_000, 'default')).isBlocked,
        true,
        'enforced again',
      );
      assert.equal(failOpen, before);
    } finally {
      await storage.onModuleDestroy();
      await redis.destroy();
    }
  });
});
