/** The cache contract against a real Redis, and the adapter's behaviour when Redis goes away. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CacheResult } from '../../../src/cache/cache-result';
import { captionCacheContract, sampleValue } from '../../helpers/caption-cache.contract';
import { redisCaptionCache, type RedisCaptionCache } from '../../helpers/caption-caches';
import { freePort, PrivateRedis, sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';
import { sleep, timed, waitFor } from '../../helpers/time';

let skip: string | undefined;
before(async () => {
  skip = await sharedRedisOrSkip();
});

async function connected(c: RedisCaptionCache): Promise<RedisCaptionCache> {
  const { cache } = c;
  await waitFor(
    'the cache client to connect',
    async () =>
      (await cache.ping().then(
        () => true,
        () => false,
      ))
        ? true
        : undefined,
    5000,
  );
  return c;
}

captionCacheContract(
  'ManagedCaptionCache on the @keyv/redis store',
  async () => {
    const results: CacheResult[] = [];
    const c = await connected(
      redisCaptionCache(sharedRedisUrl, { prefix: 'captioner:test:', observe: (r) => results.push(r) }),
    );
    return { cache: c.cache, results, cleanup: () => c.close() };
  },
  () => skip,
);

test('with nothing listening, get/set are fast counted misses and ping rejects', async () => {
  const results: CacheResult[] = [];
  const c = redisCaptionCache(`redis://127.0.0.1:${await freePort()}`, {
    observe: (r) => results.push(r),
  });
  const { cache } = c;
  try {
    const { ms, value } = await timed(() => cache.get('k'));
    assert.equal(value, undefined);
    await cache.set('k', sampleValue(), 60);
    assert.ok(ms < 400, `get took ${ms} ms`);
    assert.deepEqual(results, ['error', 'error']);
    await assert.rejects(cache.ping());
  } finally {
    await c.close();
  }
});

let privateRedis: PrivateRedis | undefined;
after(async () => {
  await privateRedis?.destroy();
});

test(
  'a private Redis stopped mid-test: misses within the deadline, then recovery when it returns',
  { timeout: 60_000 },
  async () => {
    privateRedis = await PrivateRedis.start();
    const results: CacheResult[] = [];
    const c = await connected(redisCaptionCache(privateRedis.url, { observe: (r) => results.push(r) }));
    const { cache } = c;
    try {
      await cache.set('k', sampleValue(), 600);
      assert.ok(await cache.get('k'));

      await privateRedis.stop();
      const outage: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { ms, value } = await timed(() => cache.get('k'));
        assert.equal(value, undefined);
        outage.push(ms);
        await sleep(100);
      }
      assert.ok(
        Math.max(...outage) < 400,
        `gets during the outage took ${outage.map((m) => m.toFixed(0)).join(', ')} ms`,
      );
      assert.ok(results.includes('error'));

      await privateRedis.start();
      // The data is gone (no persistence), but the client reconnects by itself and works again.
      const recovered = await timed(() =>
        waitFor(
          'the cache to work again',
          async () => {
            await cache.set('k2', sampleValue('back'), 60);
            return (await cache.get('k2'))?.captions[0].text;
          },
          20_000,
          100,
        ),
      );
      assert.equal(recovered.value, 'back');
      console.log(
        `# cache recovered ${recovered.ms.toFixed(0)} ms after Redis returned; outage gets took ${outage.map((m) => m.toFixed(1)).join(', ')} ms`,
      );
    } finally {
      await c.close();
    }
  },
);
