/**
 * Queue mode's caption cache: Keyv on the @keyv/redis store (node-redis client). Keyv is used directly
 * behind the CaptionCache port (see docs/decisions.md). A cache must never slow a request down or fail
 * it: commands time out quickly, there is no offline queue (commands fail at once while disconnected
 * instead of piling up), and every error is a logged, counted miss. The client reconnects by itself.
 */
import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { CachedCaptions, CaptionCache } from './caption-cache.port';
import { noopObserver, type CacheResultObserver } from './cache-result';

export interface RedisCacheOptions {
  /** Deadline of one cache operation; past it the operation counts as an error (a miss). */
  opTimeoutMs?: number;
  /** Prefix of every key, so the cache can share a Redis with other data. */
  prefix?: string;
  observe?: CacheResultObserver;
}

const ERROR_LOG_INTERVAL_MS = 10_000;

export class RedisCaptionCache implements CaptionCache, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RedisCaptionCache.name);
  private readonly client: RedisClientType;
  private readonly keyv: Keyv<CachedCaptions>;
  private readonly opTimeoutMs: number;
  private readonly prefix: string;
  private readonly observe: CacheResultObserver;
  private lastErrorLog = 0;
  private suppressedErrors = 0;
  private closed = false;

  constructor(url: string, options: RedisCacheOptions = {}) {
    this.opTimeoutMs = options.opTimeoutMs ?? 250;
    this.prefix = options.prefix ?? 'captioner:cache:';
    this.observe = options.observe ?? noopObserver;
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 1000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    }) as RedisClientType;
    // An 'error' event without a listener would crash the process.
    this.client.on('error', (err: unknown) => this.logError('connection', err));
    const store = new KeyvRedis(this.client, { throwOnConnectError: false, throwOnErrors: true });
    this.keyv = new Keyv<CachedCaptions>({ store, useKeyPrefix: false, throwOnErrors: true });
    this.keyv.on('error', () => undefined); // thrown to us as well; logged and counted there
  }

  /** Starts connecting in the background: the process starts (and serves misses) without Redis. */
  connect(): void {
    this.client.connect().catch((err: unknown) => this.logError('connect', err));
  }

  onModuleInit(): void {
    this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  async get(key: string): Promise<CachedCaptions | undefined> {
    try {
      const value = await this.deadline(this.keyv.get(this.prefix + key));
      this.observe(value === undefined ? 'miss' : 'hit');
      return value;
    } catch (err) {
      this.observe('error');
      this.logError('get', err);
      return undefined;
    }
  }

  async set(key: string, value: CachedCaptions, ttlSeconds: number): Promise<void> {
    try {
      await this.deadline(this.keyv.set(this.prefix + key, value, ttlSeconds * 1000));
    } catch (err) {
      this.observe('error');
      this.logError('set', err);
    }
  }

  async ping(): Promise<void> {
    if (!this.client.isReady) throw new Error('cache Redis is not connected');
    await this.deadline(this.client.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.client.isReady) await this.deadline(this.client.close());
    } catch {
      // fall through to destroy
    }
    if (this.client.isOpen) this.client.destroy();
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

  /** At most one log line per interval while Redis is down, with the count of the ones skipped. */
  private logError(op: string, err: unknown): void {
    if (this.closed) return;
    const now = Date.now();
    if (now - this.lastErrorLog < ERROR_LOG_INTERVAL_MS) {
      this.suppressedErrors++;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    const skipped = this.suppressedErrors > 0 ? ` (${this.suppressedErrors} similar errors not logged)` : '';
    this.logger.warn(`cache ${op} failed, treated as a miss: ${message}${skipped}`);
    this.lastErrorLog = now;
    this.suppressedErrors = 0;
  }
}
