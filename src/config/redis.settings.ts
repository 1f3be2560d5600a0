import { IsIn, IsOptional, IsString, Matches } from 'class-validator';

/** Redis connection settings shared by cache, jobs, throttling and health. Unset REDIS_URL = embedded mode. */
export class RedisSettings {
  @IsOptional()
  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string = undefined;

  @IsOptional()
  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'must be a redis:// or rediss:// URL' })
  CACHE_REDIS_URL?: string = undefined;

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
}
