/**
 * Queue mode's idempotency records in the queue's Redis (noeviction: a record must not be evicted
 * while its key is promised). `begin` is one atomic script, so two replicas receiving the same key at
 * once cannot both take it. Fails fast while Redis is down (no offline queue); the caller answers 503.
 */
import type { OnModuleDestroy } from '@nestjs/common';
import { createRedisConnection, type RedisConnection } from '../config/redis-connection';
import { failFastRedisOptions } from '../jobs/redis-options';
import type { IdempotencyRecord, IdempotencyStore } from './idempotency-store.port';

/** KEYS: record. ARGV: pending record JSON, lease seconds. Returns the existing record, or nil when taken. */
const BEGIN_SCRIPT = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
`;

/** KEYS: record. ARGV: the pending record JSON this request wrote. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const CONNECT_WAIT_MS = 1000;

type BeginCommand = (key: string, pending: string, leaseSeconds: number) => Promise<string | null>;
type ReleaseCommand = (key: string, pending: string) => Promise<number>;

export class RedisIdempotencyStore implements IdempotencyStore, OnModuleDestroy {
  private readonly redis: RedisConnection;

  /** `cluster`: `url` lists seed nodes of a Redis Cluster (each script touches one key: any slot works). */
  constructor(url: string, cluster = false) {
    this.redis = createRedisConnection(url, cluster, { ...failFastRedisOptions(), lazyConnect: false });
    this.redis.on('error', () => undefined); // surfaced as rejected commands, answered 503 by the caller
    this.redis.defineCommand('idempotencyBegin', { numberOfKeys: 1, lua: BEGIN_SCRIPT });
    this.redis.defineCommand('idempotencyRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  }

  async begin(
    key: string,
    fingerprint: string,
    leaseSeconds: number,
  ): Promise<IdempotencyRecord | undefined> {
    await this.connected();
    const begin = (this.redis as unknown as { idempotencyBegin: BeginCommand }).idempotencyBegin;
    const existing = await begin.call(this.redis, key, JSON.stringify({ fingerprint }), leaseSeconds);
    return existing === null ? undefined : (JSON.parse(existing) as IdempotencyRecord);
  }

  async complete(key: string, record: Required<IdempotencyRecord>, ttlSeconds: number): Promise<void> {
    await this.redis.set(key, JSON.stringify(record), 'EX', ttlSeconds);
  }

  async release(key: string, fingerprint: string): Promise<void> {
    const release = (this.redis as unknown as { idempotencyRelease: ReleaseCommand }).idempotencyRelease;
    await release.call(this.redis, key, JSON.stringify({ fingerprint }));
  }

  /** Right after start-up (or a reconnect) the connection may be on its way: wait for it, briefly. */
  private async connected(): Promise<void> {
    if (this.redis.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        resolve();
      };
      timer = setTimeout(done, CONNECT_WAIT_MS);
      this.redis.once('ready', done);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
