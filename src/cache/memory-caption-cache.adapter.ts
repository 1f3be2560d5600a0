/** Embedded mode's caption cache: a bounded in-process LRU with per-entry TTL. */
import { LRUCache } from 'lru-cache';
import type { CachedCaptions, CaptionCache } from './caption-cache.port';
import { noopObserver, type CacheResultObserver } from './cache-result';

export class MemoryCaptionCache implements CaptionCache {
  private readonly lru: LRUCache<string, CachedCaptions>;

  constructor(
    maxEntries: number,
    private readonly observe: CacheResultObserver = noopObserver,
  ) {
    this.lru = new LRUCache<string, CachedCaptions>({ max: maxEntries, ttlAutopurge: false });
  }

  get(key: string): Promise<CachedCaptions | undefined> {
    const value = this.lru.get(key);
    this.observe(value === undefined ? 'miss' : 'hit');
    // A copy: callers may not mutate what the next reader gets.
    return Promise.resolve(value === undefined ? undefined : structuredClone(value));
  }

  set(key: string, value: CachedCaptions, ttlSeconds: number): Promise<void> {
    this.lru.set(key, structuredClone(value), { ttl: ttlSeconds * 1000 });
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  get size(): number {
    return this.lru.size;
  }
}
