/** Embedded mode's cache store: Keyv over a bounded in-process LRU (CACHE_MEMORY_MAX_ENTRIES). */
import { Keyv } from 'keyv';
import { useFastDeserialize } from './keyv-deserialize';
import type { CacheStore } from './cache-store';
import { LruKeyvStore } from './lru-keyv.store';

export class MemoryCacheStore implements CacheStore {
  readonly keyv: Keyv;
  readonly lru: LruKeyvStore;

  constructor(maxEntries: number) {
    this.lru = new LruKeyvStore(maxEntries);
    this.keyv = new Keyv({ store: this.lru, useKeyPrefix: false, throwOnErrors: true });
    useFastDeserialize(this.keyv);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }
}
