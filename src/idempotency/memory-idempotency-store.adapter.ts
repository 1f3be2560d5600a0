/** Embedded mode's idempotency records: a bounded in-process LRU with per-record TTL. */
import { LRUCache } from 'lru-cache';
import type { IdempotencyRecord, IdempotencyStore } from './idempotency-store.port';

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records: LRUCache<string, string>;

  constructor(maxEntries = 100_000) {
    this.records = new LRUCache<string, string>({ max: maxEntries });
  }

  begin(key: string, fingerprint: string, leaseSeconds: number): Promise<IdempotencyRecord | undefined> {
    const existing = this.records.get(key);
    if (existing !== undefined) return Promise.resolve(JSON.parse(existing) as IdempotencyRecord);
    this.records.set(key, JSON.stringify({ fingerprint }), { ttl: leaseSeconds * 1000 });
    return Promise.resolve(undefined);
  }

  complete(key: string, record: Required<IdempotencyRecord>, ttlSeconds: number): Promise<void> {
    this.records.set(key, JSON.stringify(record), { ttl: ttlSeconds * 1000 });
    return Promise.resolve();
  }

  release(key: string, fingerprint: string): Promise<void> {
    const existing = this.records.get(key);
    if (existing === JSON.stringify({ fingerprint })) this.records.delete(key);
    return Promise.resolve();
  }
}
