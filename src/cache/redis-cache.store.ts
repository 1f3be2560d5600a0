/**
 * Queue mode's cache store: Keyv on @keyv/redis (node-redis client). A cache must never slow a request
 * down: there is no offline queue (commands fail at once while disconnected instead of piling up), the
 * connection is made in the background (the process starts and serves misses without Redis), and the
 * client reconnects by itself. Closing never waits on a Redis that is gone. On a Redis Cluster
 * (CACHE_REDIS_CLUSTER) the store is the cluster-aware one of createKeyvRedisStore, with the same rules.
 */
import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import KeyvRedis, { createClient, type RedisClientType, type RedisClusterType } from '@keyv/redis';
import { Keyv } from 'keyv';
import { useFastDeserialize } from './keyv-deserialize';
import { createKeyvRedisStore } from '../config/redis-connection';
import type { RedisSettings } from '../config/redis.settings';
import type { CacheStore } from './cache-store';
import { RateLimitedWarning } from './rate-limited-warning';

const CLOSE_TIMEOUT_MS = 1000;

export class RedisCacheStore implements CacheStore, OnModuleInit, OnModuleDestroy {
  private readonly warning = new RateLimitedWarning(new Logger(RedisCacheStore.name));
  readonly keyv: Keyv;
  private readonly client: RedisClientType | RedisClusterType;
  private closed = false;

  /** `source`: the cache Redis URL (standalone), or the settings (cluster when `cacheCluster`). */
  constructor(source: string | RedisSettings) {
    const onError = (err: unknown): void => {
      if (!this.closed) this.warning.warn('cache Redis connection', err);
    };
    let store: KeyvRedis<unknown>;
    if (typeof source !== 'string' && source.cacheCluster) {
      store = createKeyvRedisStore(source, { onError }) as KeyvRedis<unknown>;
      this.client = store.client as RedisClusterType;
    } else {
      const url = typeof source === 'string' ? source : source.cacheUrl;
      if (url === undefined) throw new Error('RedisCacheStore needs CACHE_REDIS_URL or REDIS_URL');
      this.client = createClient({
        url,
        disableOfflineQueue: true,
        socket: {
          connectTimeout: 1000,
          reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
        },
      }) as RedisClientType;
      // An 'error' event without a listener would crash the process.
      this.client.on('error', onError);
      store = new KeyvRedis(this.client, { throwOnConnectError: false, throwOnErrors: true });
    }
    // cache-manager's module disconnects its stores on shutdown: make that the bounded close below.
    store.disconnect = () => this.close();
    this.keyv = new Keyv({ store, useKeyPrefix: false, throwOnErrors: true });
    useFastDeserialize(this.keyv);
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
    if ('isReady' in this.client) {
      if (!this.client.isReady) throw new Error('cache Redis is not connected');
      await this.client.ping();
      return;
    }
    if (!this.client.isOpen) throw new Error('cache Redis Cluster is not connected');
    await this.client.sendCommand(undefined, true, ['PING']);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      if ('isReady' in this.client ? this.client.isReady : this.client.isOpen) {
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
