/**
 * throttling: per-subject rate limits (@nestjs/throttler). RATE_LIMIT_LIMIT requests per
 * RATE_LIMIT_TTL_SECONDS per subject and route; in Redis (shared by the replicas) in queue mode, in memory
 * otherwise. The guard is applied by @Auth() (src/auth), not globally: probes and /metrics are never limited.
 */
import { Global, Module } from '@nestjs/common';
import { ThrottlerModule, ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import { provideSettings } from '../config/provide-settings';
import { RedisSettings } from '../config/redis.settings';
import { MetricsService } from '../metrics/metrics.service';
import { RateLimitSettings } from './rate-limit.settings';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { SubjectThrottlerGuard } from './subject-throttler.guard';

export const THROTTLER_BACKEND = Symbol('THROTTLER_BACKEND');

@Module({
  providers: [
    provideSettings(RateLimitSettings),
    provideSettings(RedisSettings),
    {
      provide: THROTTLER_BACKEND,
      inject: [RedisSettings, { token: MetricsService, optional: true }],
      useFactory: (redis: RedisSettings, metrics?: MetricsService): ThrottlerStorage =>
        redis.REDIS_URL
          ? new RedisThrottlerStorage(redis.REDIS_URL, {
              cluster: redis.REDIS_CLUSTER,
              onFailOpen: () => metrics?.throttlerStorageErrors.inc(),
            })
          : new ThrottlerStorageService(),
    },
  ],
  exports: [RateLimitSettings, THROTTLER_BACKEND],
})
class ThrottlerBackendModule {}

@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [ThrottlerBackendModule],
      inject: [RateLimitSettings, THROTTLER_BACKEND],
      useFactory: (limits: RateLimitSettings, storage: ThrottlerStorage) => ({
        throttlers: [
          {
            name: 'default',
            ttl: limits.RATE_LIMIT_TTL_SECONDS * 1000,
            limit: limits.RATE_LIMIT_LIMIT,
            blockDuration: limits.RATE_LIMIT_TTL_SECONDS * 1000,
          },
        ],
        storage,
      }),
    }),
  ],
  providers: [SubjectThrottlerGuard],
  exports: [ThrottlerModule, SubjectThrottlerGuard],
})
export class ThrottlingModule {}
