/**
 * A Keyv storage adapter over lru-cache: bounded by entry count (least recently used goes first), with
 * the TTL Keyv passes on each set, so an expired entry leaves without waiting to be read. Keyv stores
 * serialized strings, so every read is a copy.
 */
import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { LRUCache } from 'lru-cache';

export class LruKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts: { maxEntries: number };
  namespace?: string;
  private readonly lru: LRUCache<string, string>;

  constructor(maxEntries: number) {
    super();
    this.opts = { maxEntries };
    this.lru = new LRUCache<string, string>({ max: maxEntries, ttlAutopurge: false });
  }

  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return Promise.resolve(this.lru.get(key) as StoredData<Value> | undefined);
  }

  set(key: string, value: string, ttl?: number): Promise<boolean> {
    this.lru.set(key, value, ttl !== undefined && ttl > 0 ? { ttl } : {});
    return Promise.resolve(true);
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.lru.delete(key));
  }

  clear(): Promise<void> {
    this.lru.clear();
    return Promise.resolve();
  }

  get size(): number {
    return this.lru.size;
  }
}
