/** The caption cache as the module assembles it (adapter over cache-manager over a Keyv store), for tests. */
import { createCache } from 'cache-manager';
import type { CacheResultObserver } from '../../src/cache/cache-result';
import { ManagedCaptionCache, type ManagedCacheOptions } from '../../src/cache/managed-caption-cache.adapter';
import { MemoryCacheStore } from '../../src/cache/memory-cache.store';
import { RedisCacheStore } from '../../src/cache/redis-cache.store';

export function memoryCaptionCache(
  maxEntries = 100,
  observe?: CacheResultObserver,
): { cache: ManagedCaptionCache; store: MemoryCacheStore } {
  const store = new MemoryCacheStore(maxEntries);
  return { cache: new ManagedCaptionCache(createCache({ stores: [store.keyv] }), store, { observe }), store };
}

export interface RedisCaptionCache {
  cache: ManagedCaptionCache;
  store: RedisCacheStore;
  close(): Promise<void>;
}

/** Starts connecting in the background, as the module does at init. */
export function redisCaptionCache(url: string, options: ManagedCacheOptions = {}): RedisCaptionCache {
  const store = new RedisCacheStore(url);
  const manager = createCache({ stores: [store.keyv] });
  store.connect();
  return {
    cache: new ManagedCaptionCache(manager, store, options),
    store,
    close: () => manager.disconnect().then(() => undefined),
  };
}
