import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';

/** One redis:// or rediss:// URL, or (cluster mode) a comma-separated list of seed node URLs. */
const URL_LIST = /^rediss?:\/\/[^,\s]+(\s*,\s*rediss?:\/\/[^,\s]+)*$/;
const URL_LIST_MESSAGE =
  'must be a redis:// or rediss:// URL (with the cluster flag: one or more, comma-separated)';

/** A list of URLs is only meaningful in cluster mode (they are seed nodes of one cluster). */
@ValidatorConstraint({ name: 'singleUrlUnlessCluster' })
class SingleUrlUnlessCluster implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    if (typeof value !== 'string' || !value.includes(',')) return true;
    const s = args.object as RedisSettings;
    return args.property === 'REDIS_URL' ? s.REDIS_CLUSTER : s.cacheCluster;
  }

  defaultMessage(args: ValidationArguments): string {
    const flag = args.property === 'REDIS_URL' ? 'REDIS_CLUSTER' : 'CACHE_REDIS_CLUSTER';
    return `several URLs are seed nodes of a Redis Cluster: set ${flag}=true, or give one URL`;
  }
}

/** An optional boolean variable: loadSettings only converts variables whose default is a boolean. */
function optionalBoolean({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  return value;
}

/** An optional integer variable (loadSettings only converts variables whose default is a number). */
function optionalInt({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string' || value.trim() === '') return value;
  const n = Number(value);
  return Number.isFinite(n) ? n : value;
}

/** Redis connection settings shared by cache, jobs, throttling and health. Unset REDIS_URL = embedded mode. */
export class RedisSettings {
  @IsOptional()
  @IsString()
  @Matches(URL_LIST, { message: URL_LIST_MESSAGE })
  @Validate(SingleUrlUnlessCluster)
  REDIS_URL?: string = undefined;

  /** The queue Redis (and the throttler's, which shares it) is a Redis Cluster (ElastiCache cluster mode). */
  @IsBoolean()
  REDIS_CLUSTER = false;

  @IsOptional()
  @IsString()
  @Matches(URL_LIST, { message: URL_LIST_MESSAGE })
  @Validate(SingleUrlUnlessCluster)
  CACHE_REDIS_URL?: string = undefined;

  /** The cache Redis is a Redis Cluster; unset = REDIS_CLUSTER. */
  @IsOptional()
  @Transform(optionalBoolean)
  @IsBoolean()
  CACHE_REDIS_CLUSTER?: boolean = undefined;

  /**
   * Replicas of the queue Redis that must acknowledge an accepted job's writes (Redis WAIT) before the
   * API answers 202, so a failover of the queue master cannot lose a job it accepted. Unset: 1 with
   * REDIS_CLUSTER, else 0 (set 1 for a replicated standalone Redis, e.g. ElastiCache with Multi-AZ).
   */
  @IsOptional()
  @Transform(optionalInt)
  @IsInt()
  @Min(0)
  @Max(5)
  QUEUE_WAIT_REPLICAS?: number = undefined;

  /**
   * How long an accepted job waits for those acknowledgements. Past it the job is accepted anyway (a
   * lagging or lost replica must not stop the service), with a warning and
   * `captioner_jobs_total{outcome="unreplicated"}`.
   */
  @IsInt()
  @Min(1)
  @Max(10_000)
  QUEUE_WAIT_TIMEOUT_MS = 1000;

  @IsIn(['warn', 'refuse'])
  REDIS_EVICTION_POLICY_CHECK: 'warn' | 'refuse' = 'warn';

  @IsString()
  @Matches(/^[A-Za-z0-9_-]+$/)
  QUEUE_NAME = 'captions';

  get queueMode(): boolean {
    return this.REDIS_URL !== undefined;
  }

  get cacheUrl(): string | undefined {
    return this.CACHE_REDIS_URL ?? this.REDIS_URL;
  }

  /** Replicas that acknowledge an accepted job (QUEUE_WAIT_REPLICAS, by default 1 on a cluster). */
  get queueWaitReplicas(): number {
    return this.QUEUE_WAIT_REPLICAS ?? (this.REDIS_CLUSTER ? 1 : 0);
  }

  /** Whether the cache's Redis is a cluster (without CACHE_REDIS_URL the cache uses the queue's Redis). */
  get cacheCluster(): boolean {
    if (this.CACHE_REDIS_URL === undefined) return this.REDIS_CLUSTER;
    return this.CACHE_REDIS_CLUSTER ?? this.REDIS_CLUSTER;
  }
}

/** The URLs of a setting: one, or the comma-separated seed nodes of a cluster. */
export function redisUrls(value: string): string[] {
  return value
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
}

/**
 * BullMQ's key prefix. Standalone: BullMQ's default `bull` (keys unchanged, in-flight jobs survive an
 * upgrade). Cluster: BullMQ's Lua scripts touch many keys of a queue at once, which a cluster only allows
 * within one hash slot, so the prefix is a hash tag, `{QUEUE_NAME}`: every key of every queue of this
 * deployment lands in one slot (flows across its queues stay possible) and two deployments sharing a
 * cluster (different QUEUE_NAME) land in different slots.
 */
export function bullPrefix(settings: RedisSettings): string {
  return settings.REDIS_CLUSTER ? `{${settings.QUEUE_NAME}}` : 'bull';
}
