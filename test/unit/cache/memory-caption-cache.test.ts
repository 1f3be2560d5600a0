import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CacheResult } from '../../../src/cache/cache-result';
import { captionCacheContract, sampleValue } from '../../helpers/caption-cache.contract';
import { memoryCaptionCache } from '../../helpers/caption-caches';

captionCacheContract('ManagedCaptionCache on the in-memory LRU store', async () => {
  const results: CacheResult[] = [];
  return {
    cache: memoryCaptionCache(100, (r) => results.push(r)).cache,
    results,
    cleanup: async () => undefined,
  };
});

test('the in-memory store is bounded by its entry count (least recently used goes first)', async () => {
  const { cache, store } = memoryCaptionCache(3);
  for (const k of ['a', 'b', 'c']) await cache.set(k, sampleValue(k), 60);
  await cache.get('a');
  await cache.set('d', sampleValue('d'), 60);
  assert.equal(store.lru.size, 3);
  assert.equal(await cache.get('b'), undefined);
  assert.ok(await cache.get('a'));
  assert.ok(await cache.get('d'));
});

test('an expired entry leaves the LRU without being read (the TTL reaches lru-cache)', async () => {
  const { cache, store } = memoryCaptionCache(3);
  await cache.set('short', sampleValue(), 1);
  assert.equal(store.lru.size, 1);
  await new Promise((r) => setTimeout(r, 1300));
  // Read lru-cache directly, not through Keyv (which checks its own expiry): the TTL reached the store.
  assert.equal(await store.lru.get('captioner:cache:short'), undefined);
});
