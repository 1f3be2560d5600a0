/**
 * cache: the caption cache port (CAPTION_CACHE), one adapter over @nestjs/cache-manager's CACHE_MANAGER
 * with a Keyv store chosen by CacheStoreModule (@keyv/redis when a cache Redis is configured,
 * CACHE_REDIS_URL else REDIS_URL; a bounded in-memory LRU otherwise). Look-ups are counted in
 * captioner_cache_requests_total{result}.
 */
import { Module } from '@nestjs/common';
import { CACHE_MANAGER, CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import { MetricsService } from '../metrics/metrics.service';
import { CacheStoreModule } from './cache-store.module';
import { CACHE_STORE, type CacheStore } from './cache-store';
import { CAPTION_CACHE, type CaptionCache } from './caption-cache.port';
import type { CacheResultObserver } from './cache-result';
import { ManagedCaptionCache } from './managed-caption-cache.adapter';

export function cacheObserver(metrics?: MetricsService): CacheResultObserver | undefined {
  return metrics === undefined ? undefined : (result) => metrics.cacheRequests.inc({ result });
}

@Module({
  imports: [
    CacheStoreModule,
    NestCacheModule.registerAsync({
      imports: [CacheStoreModule],
      inject: [CACHE_STORE],
      useFactory: (store: CacheStore) => ({ stores: [store.keyv] }),
    }),
  ],
  providers: [
    {
      provide: CAPTION_CACHE,
      inject: [CACHE_MANAGER, CACHE_STORE, { token: MetricsService, optional: true }],
      useFactory: (manager: Cache, store: CacheStore, metrics?: MetricsService): CaptionCache =>
        new ManagedCaptionCache(manager, store, { observe: cacheObserver(metrics) }),
    },
  ],
  exports: [CAPTION_CACHE, CacheStoreModule],
})
export class CacheModule {}
