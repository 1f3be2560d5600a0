/**
 * Throttler storage in Redis, so a subject's limit holds across API replicas: one atomic Lua script per
 * check (INCRBY + PEXPIRE fixed window, plus a block key once over the limit). Checks of one key that
 * arrive while its script call is in flight wait for it and then share the next call, which counts them
 * as that many hits in a row (a group commit: one round trip and one script for a burst of one subject,
 * the same answers as one call each, in arrival order). Redis being down must not turn into 5xx: the
 * check fails open, is logged (at most every 30 s) and counted. On a Redis Cluster (REDIS_CLUSTER) both
 * keys of a check carry the same hash tag, `{throttler:subject key}`, so the script's keys share a slot
 * while different subjects spread over the masters.
 */
import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { RedisOptions } from 'ioredis';
import { createRedisConnection, type RedisConnection } from '../config/redis-connection';

export interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * KEYS: hits, block. ARGV: window ms, limit, block ms, n (checks in this call, in order).
 * Returns {hits after the call, window ms left, checks counted, blocked, block ms left}. Exactly what n
 * calls of one check each would do: while blocked, nothing is counted; otherwise checks are counted until
 * one goes over the limit, which sets the block that the checks after it then find.
 */
export const THROTTLE_SCRIPT = `
local blockLeft = redis.call('PTTL', KEYS[2])
if blockLeft > 0 then
  local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then left = 0 end
  return {hits, left, 0, 1, blockLeft}
end
local limit = tonumber(ARGV[2])
local n = tonumber(ARGV[4])
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
local counted = limit + 1 - before
if counted < 1 then counted = 1 end
if counted > n then counted = n end
local hits = redis.call('INCRBY', KEYS[1], counted)
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
if hits > limit then
  local blockFor = tonumber(ARGV[3])
  if blockFor <= 0 then blockFor = left end
  redis.call('SET', KEYS[2], '1', 'PX', blockFor)
  return {hits, left, counted, 1, blockFor}
end
return {hits, left, counted, 0, 0}
`;

const KEY_PREFIX = 'captioner:throttle:';
const ERROR_LOG_INTERVAL_MS = 30_000;

type ThrottleCommand = (
  hitsKey: string,
  blockKey: string,
  ttlMs: number,
  limit: number,
  blockMs: number,
  n: number,
) => Promise<[number, number, number, number, number]>;

/** What one call of the script answered, for the checks it counted. */
interface ScriptReply {
  hits: number;
  leftMs: number;
  counted: number;
  blocked: boolean;
  blockLeftMs: number;
}

/** The record of the i-th (0-based) check of a call: as if each check had been a call of its own. */
export function recordOf(reply: ScriptReply, i: number): ThrottlerStorageRecord {
  const timeToExpire = Math.ceil(reply.leftMs / 1000);
  const blockSeconds = Math.ceil(reply.blockLeftMs / 1000);
  // Checks before the last counted one passed; the last counted one is blocked if the call set a block.
  if (i < reply.counted - 1 || (i === reply.counted - 1 && !reply.blocked)) {
    return {
      totalHits: reply.hits - reply.counted + 1 + i,
      timeToExpire,
      isBlocked: false,
      timeToBlockExpire: 0,
    };
  }
  return { totalHits: reply.hits, timeToExpire, isBlocked: true, timeToBlockExpire: blockSeconds };
}

interface Batch {
  ttlMs: number;
  limit: number;
  blockMs: number;
  waiters: { resolve: (r: ThrottlerStorageRecord) => void }[];
}

/** Per key: the call in flight (if any) and the checks waiting for the next one. */
interface Lane {
  next?: Batch;
}

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
  private readonly lanes = new Map<string, Lane>();

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
    const ttlMs = Math.max(1, Math.round(ttl));
    const blockMs = Math.round(blockDuration);
    // Settings are part of the lane: checks share a call only if they would send the same arguments.
    const laneKey = `${base}|${ttlMs}|${limit}|${blockMs}`;
    return new Promise((resolve) => {
      const lane = this.lanes.get(laneKey);
      if (lane !== undefined) {
        // A call for this key is in flight: wait for it, then go in the next one.
        lane.next ??= { ttlMs, limit, blockMs, waiters: [] };
        lane.next.waiters.push({ resolve });
        return;
      }
      const batch: Batch = { ttlMs, limit, blockMs, waiters: [{ resolve }] };
      this.lanes.set(laneKey, {});
      void this.run(laneKey, base, batch);
    });
  }

  /** Sends one batch, then the one that gathered meanwhile, until none is waiting. */
  private async run(laneKey: string, base: string, first: Batch): Promise<void> {
    let batch: Batch | undefined = first;
    while (batch !== undefined) {
      await this.send(base, batch);
      const lane = this.lanes.get(laneKey);
      batch = lane?.next;
      if (lane !== undefined) lane.next = undefined;
    }
    this.lanes.delete(laneKey);
  }

  private async send(base: string, batch: Batch): Promise<void> {
    const n = batch.waiters.length;
    try {
      const command = (this.redis as unknown as { captionerThrottle: ThrottleCommand }).captionerThrottle;
      const [hits, leftMs, counted, blocked, blockLeftMs] = await command.call(
        this.redis,
        `${base}:hits`,
        `${base}:block`,
        batch.ttlMs,
        batch.limit,
        batch.blockMs,
        n,
      );
      const reply: ScriptReply = {
        hits: Number(hits),
        leftMs: Number(leftMs),
        counted: Number(counted),
        blocked: Number(blocked) === 1,
        blockLeftMs: Number(blockLeftMs),
      };
      batch.waiters.forEach((w, i) => w.resolve(recordOf(reply, i)));
    } catch (err) {
      for (let i = 0; i < n; i++) this.options.onFailOpen?.();
      this.logRateLimited(`rate limit not enforced, throttler Redis failed: ${(err as Error).message}`);
      const open = {
        totalHits: 0,
        timeToExpire: Math.ceil(batch.ttlMs / 1000),
        isBlocked: false,
        timeToBlockExpire: 0,
      };
      for (const w of batch.waiters) w.resolve({ ...open });
    }
  }

  private logRateLimited(message: string): void {
    const now = Date.now();
    if (now - this.lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLog = now;
    this.logger.warn(message);
  }
}
