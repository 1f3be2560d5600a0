import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cache } from 'cache-manager';
import type { CacheResult } from '../../../src/cache/cache-result';
import { ManagedCaptionCache } from '../../../src/cache/managed-caption-cache.adapter';
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

test('a store read error reaches the gets of its key in flight, and only them', async () => {
  // cache-manager swallows a store's read error and emits a `get` event with it instead.
  const events = new EventEmitter();
  const fake = {
    on: (name: string, listener: (...args: unknown[]) => void) => events.on(name, listener),
    get: async (key: string): Promise<unknown> => {
      await new Promise((r) => setImmediate(r));
      if (key.endsWith('bad')) {
        events.emit('get', { key, error: new Error('store down') });
        return undefined;
      }
      events.emit('get', { key, value: sampleValue('good') });
      return sampleValue('good');
    },
  };
  const results: CacheResult[] = [];
  const cache = new ManagedCaptionCache(fake as unknown as Cache, memoryCaptionCache(1).store, {
    observe: (r) => results.push(r),
  });
  const got = await Promise.all([cache.get('bad'), cache.get('good'), cache.get('bad')]);
  assert.deepEqual(got[0], undefined);
  assert.ok(got[1]);
  assert.deepEqual(results, ['error', 'hit', 'error']);
  // The errors were not left behind for later gets of the key.
  results.length = 0;
  fake.get = async () => sampleValue('bad');
  assert.ok(await cache.get('bad'));
  assert.deepEqual(results, ['hit']);
  assert.equal(events.listenerCount('get'), 1);
});
