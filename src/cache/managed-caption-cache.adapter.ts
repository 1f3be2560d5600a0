/**
 * The caption cache over @nestjs/cache-manager's CACHE_MANAGER, whatever Keyv store sits under it
 * (Redis in queue mode, in-memory LRU in embedded mode). A cache must never slow a request down or fail
 * it: each operation has a deadline, and every failure is a logged, counted miss. cache-manager swallows
 * a store's read error (it emits a `get` event instead), so the adapter listens for it to count it: one
 * listener for the adapter's life, which hands an error to the gets of that key in flight (a listener
 * per get made every `get` event call every waiting request's listener, quadratic in a backlog).
 */
import { Logger } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type { CachedCaptions, CaptionCache } from './caption-cache.port';
import { noopObserver, type CacheResultObserver } from './cache-result';
import type { CacheStore } from './cache-store';
import { RateLimitedWarning } from './rate-limited-warning';

export interface ManagedCacheOptions {
  /** Deadline of one cache operation; past it the operation counts as an error (a miss). */
  opTimeoutMs?: number;
  /** Prefix of every key, so the cache can share a Redis with other data. */
  prefix?: string;
  observe?: CacheResultObserver;
}

export const CACHE_KEY_PREFIX = 'captioner:cache:';

export class ManagedCaptionCache implements CaptionCache {
  private readonly warning = new RateLimitedWarning(new Logger(ManagedCaptionCache.name));
  private readonly opTimeoutMs: number;
  private readonly prefix: string;
  private readonly observe: CacheResultObserver;
  /** Gets in flight by full key; a store error for the key is recorded on each. */
  private readonly inFlight = new Map<string, { failure?: unknown }[]>();

  constructor(
    private readonly cache: Cache,
    private readonly store: CacheStore,
    options: ManagedCacheOptions = {},
  ) {
    this.opTimeoutMs = options.opTimeoutMs ?? 250;
    this.prefix = options.prefix ?? CACHE_KEY_PREFIX;
    this.observe = options.observe ?? noopObserver;
    this.cache.on('get', (event: { key: string; error?: unknown }) => {
      if (event.error === undefined) return;
      for (const slot of this.inFlight.get(event.key) ?? []) slot.failure = event.error;
    });
  }

  async get(key: string): Promise<CachedCaptions | undefined> {
    const full = this.prefix + key;
    const slot: { failure?: unknown } = {};
    const slots = this.inFlight.get(full);
    if (slots === undefined) this.inFlight.set(full, [slot]);
    else slots.push(slot);
    try {
      const value = await this.deadline(this.cache.get<CachedCaptions>(full));
      if (slot.failure !== undefined) throw slot.failure;
      this.observe(value === undefined ? 'miss' : 'hit');
      return value;
    } catch (err) {
      this.observe('error');
      this.warning.warn('cache get failed, treated as a miss', err);
      return undefined;
    } finally {
      const left = (this.inFlight.get(full) ?? []).filter((s) => s !== slot);
      if (left.length === 0) this.inFlight.delete(full);
      else this.inFlight.set(full, left);
    }
  }

  async set(key: string, value: CachedCaptions, ttlSeconds: number): Promise<void> {
    try {
      await this.deadline(this.cache.set(this.prefix + key, value, ttlSeconds * 1000));
    } catch (err) {
      this.observe('error');
      this.warning.warn('cache set failed', err);
    }
  }

  ping(): Promise<void> {
    return this.deadline(this.store.ping());
  }

  /**
   * Rejects after opTimeoutMs. The rejection waits one more turn of the event loop (setImmediate runs
   * after I/O): when the loop itself was blocked (e.g. by a synchronous inference step), a reply that
   * arrived meanwhile is read first instead of being declared late.
   */
  private deadline<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => setImmediate(() => reject(new Error(`cache operation over ${this.opTimeoutMs} ms`))),
        this.opTimeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
