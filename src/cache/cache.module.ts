/**
 * cache: the caption cache port (CAPTION_CACHE) with a Redis (Keyv) adapter when a cache Redis is
 * configured (CACHE_REDIS_URL, else REDIS_URL) and a bounded in-memory LRU otherwise. Look-ups are
 * counted in captioner_cache_requests_total{result}.
 */
import { Module } from '@nestjs/common';
import { provideSettings } from '../config/provide-settings';
import { RedisSettings } from '../config/redis.settings';
import { MetricsService } from '../metrics/metrics.service';
import { CacheSettings } from './cache.settings';
import { CAPTION_CACHE, type CaptionCache } from './caption-cache.port';
import type { CacheResultObserver } from './cache-result';
import { MemoryCaptionCache } from './memory-caption-cache.adapter';
import { RedisCaptionCache } from './redis-caption-cache.adapter';

export function cacheObserver(metrics?: MetricsService): CacheResultObserver | undefined {
  return metrics === undefined ? undefined : (result) => metrics.cacheRequests.inc({ result });
}

@Module({
  providers: [
    provideSettings(CacheSettings),
    provideSettings(RedisSettings),
    {
      provide: CAPTION_CACHE,
      inject: [RedisSettings, CacheSettings, { token: MetricsService, optional: true }],
      useFactory: (redis: RedisSettings, cache: CacheSettings, metrics?: MetricsService): CaptionCache => {
        const observe = cacheObserver(metrics);
        const url = redis.cacheUrl;
        if (url === undefined) return new MemoryCaptionCache(cache.CACHE_MEMORY_MAX_ENTRIES, observe);
        return new RedisCaptionCache(url, { observe });
      },
    },
  ],
  exports: [CAPTION_CACHE, CacheSettings],
})
export class CacheModule {}
