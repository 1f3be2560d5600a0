/**
 * Queue mode's cache store: Keyv on @keyv/redis (node-redis client). A cache must never slow a request
 * down: there is no offline queue (commands fail at once while disconnected instead of piling up), the
 * connection is made in the background (the process starts and serves misses without Redis), and the
 * client reconnects by itself. Closing never waits on a Redis that is gone.
 */
import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { CacheStore } from './cache-store';
import { RateLimitedWarning } from './rate-limited-warning';

const CLOSE_TIMEOUT_MS = 1000;

export class RedisCacheStore implements CacheStore, OnModuleInit, OnModuleDestroy {
  private readonly warning = new RateLimitedWarning(new Logger(RedisCacheStore.name));
  readonly keyv: Keyv;
  private readonly client: RedisClientType;
  private closed = false;

  constructor(url: string) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 1000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    }) as RedisClientType;
    // An 'error' event without a listener would crash the process.
    this.client.on('error', (err: unknown) => {
      if (!this.closed) this.warning.warn('cache Redis connection', err);
    });
    const store = new KeyvRedis(this.client, { throwOnConnectError: false, throwOnErrors: true });
    // cache-manager's module disconnects its stores on shutdown: make that the bounded close below.
    store.disconnect = () => this.close();
    this.keyv = new Keyv({ store, useKeyPrefix: false, throwOnErrors: true });
    this.keyv.on('error', () => undefined); // thrown to the adapter as well; logged and counted there
  }

  /** Starts connecting in the background. */
  connect(): void {
    this.client.connect().catch((err: unknown) => {
      if (!this.closed) this.warning.warn('cache Redis connect failed', err);
    });
  }

  onModuleInit(): void {
    this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  async ping(): Promise<void> {
    if (!this.client.isReady) throw new Error('cache Redis is not connected');
    await this.client.ping();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (this.client.isReady) {
        await Promise.race([
          this.client.close(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('close timed out')), CLOSE_TIMEOUT_MS);
          }),
        ]);
      }
    } catch {
      // fall through to destroy
    } finally {
      clearTimeout(timer);
    }
    if (this.client.isOpen) this.client.destroy();
  }
}
