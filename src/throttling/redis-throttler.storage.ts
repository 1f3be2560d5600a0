/**
 * Throttler storage in Redis, so a subject's limit holds across API replicas: one atomic Lua script per
 * hit (INCR + PEXPIRE fixed window, plus a block key once over the limit). Redis being down must not turn
 * into 5xx: the check fails open, is logged (at most every 30 s) and counted. On a Redis Cluster
 * (REDIS_CLUSTER) both keys of a check carry the same hash tag, `{throttler:subject key}`, so the script's
 * keys share a slot while different subjects spread over the masters.
 */
import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { RedisOptions } from 'ioredis';
import { createRedisConnection, type RedisConnection } from '../config/redis-connection';

interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** KEYS: hits, block. ARGV: window ms, limit, block ms. Returns {hits, window ms left, blocked, block ms left}. */
export const THROTTLE_SCRIPT = `
local blockLeft = redis.call('PTTL', KEYS[2])
if blockLeft > 0 then
  local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then left = 0 end
  return {hits, left, 1, blockLeft}
end
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
if hits > tonumber(ARGV[2]) then
  local blockFor = tonumber(ARGV[3])
  if blockFor <= 0 then blockFor = left end
  redis.call('SET', KEYS[2], '1', 'PX', blockFor)
  return {hits, left, 1, blockFor}
end
return {hits, left, 0, 0}
`;

const KEY_PREFIX = 'captioner:throttle:';
const ERROR_LOG_INTERVAL_MS = 30_000;

type ThrottleCommand = (
  hitsKey: string,
  blockKey: string,
  ttlMs: number,
  limit: number,
  blockMs: number,
) => Promise<[number, number, number, number]>;

export interface RedisThrottlerStorageOptions {
  /** Called once per check that failed open (metrics). */
  onFailOpen?: () => void;
  /** Per-command timeout: a slow Redis must not slow every request down. */
  commandTimeoutMs?: number;
  /** `url` lists seed nodes of a Redis Cluster. */
  cluster?: boolean;
  redisOptions?: RedisOptions;
}

export class RedisThrottlerStorage implements ThrottlerStorage, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly redis: RedisConnection;
  private lastErrorLog = 0;

  constructor(
    url: string,
    private readonly options: RedisThrottlerStorageOptions = {},
  ) {
    this.redis = createRedisConnection(url, options.cluster ?? false, {
      // Fail fast while disconnected instead of queueing requests behind a dead connection.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      lazyConnect: true,
      ...options.redisOptions,
    });
    this.redis.defineCommand('captionerThrottle', { numberOfKeys: 2, lua: THROTTLE_SCRIPT });
    this.redis.on('error', (err: Error) => this.logRateLimited(`throttler Redis: ${err.message}`));
  }

  async onModuleInit(): Promise<void> {
    // Connect now, but do not hold start-up hostage: the limiter fails open until Redis answers.
    await this.redis.connect().catch((err: Error) => this.logRateLimited(`throttler Redis: ${err.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** For readiness and tests: resolves when Redis answers. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const base = `${KEY_PREFIX}{${throttlerName}:${key}}`;
    try {
      const command = (this.redis as unknown as { captionerThrottle: ThrottleCommand }).captionerThrottle;
      const [hits, leftMs, blocked, blockLeftMs] = await command.call(
        this.redis,
        `${base}:hits`,
        `${base}:block`,
        Math.max(1, Math.round(ttl)),
        limit,
        Math.round(blockDuration),
      );
      return {
        totalHits: Number(hits),
        timeToExpire: Math.ceil(Number(leftMs) / 1000),
        isBlocked: Number(blocked) === 1,
        timeToBlockExpire: Math.ceil(Number(blockLeftMs) / 1000),
      };
    } catch (err) {
      this.options.onFailOpen?.();
      this.logRateLimited(`rate limit not enforced, throttler Redis failed: ${(err as Error).message}`);
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  private logRateLimited(message: string): void {
    const now = Date.now();
    if (now - this.lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLog = now;
    this.logger.warn(message);
  }
}
