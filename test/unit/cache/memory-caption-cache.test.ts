import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCaptionCache } from '../../../src/cache/memory-caption-cache.adapter';
import type { CacheResult } from '../../../src/cache/cache-result';
import { captionCacheContract, sampleValue } from '../../helpers/caption-cache.contract';

captionCacheContract('MemoryCaptionCache', async () => {
  const results: CacheResult[] = [];
  return {
    cache: new MemoryCaptionCache(100, (r) => results.push(r)),
    results,
    cleanup: async () => undefined,
  };
});

test('MemoryCaptionCache is bounded by its entry count (least recently used goes first)', async () => {
  const cache = new MemoryCaptionCache(3);
  for (const k of ['a', 'b', 'c']) await cache.set(k, sampleValue(k), 60);
  await cache.get('a');
  await cache.set('d', sampleValue('d'), 60);
  assert.equal(cache.size, 3);
  assert.equal(await cache.get('b'), undefined);
  assert.ok(await cache.get('a'));
  assert.ok(await cache.get('d'));
});
