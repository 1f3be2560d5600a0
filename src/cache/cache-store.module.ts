/** The one CACHE_STORE of the process: Redis when a cache Redis is configured, else the in-memory LRU. */
import { Module } from '@nestjs/common';
import { provideSettings } from '../config/provide-settings';
import { RedisSettings } from '../config/redis.settings';
import { CacheSettings } from './cache.settings';
import { CACHE_STORE, type CacheStore } from './cache-store';
import { MemoryCacheStore } from './memory-cache.store';
import { RedisCacheStore } from './redis-cache.store';

@Module({
  providers: [
    provideSettings(CacheSettings),
    provideSettings(RedisSettings),
    {
      provide: CACHE_STORE,
      inject: [RedisSettings, CacheSettings],
      useFactory: (redis: RedisSettings, cache: CacheSettings): CacheStore => {
        return redis.cacheUrl === undefined
          ? new MemoryCacheStore(cache.CACHE_MEMORY_MAX_ENTRIES)
          : new RedisCacheStore(redis);
      },
    },
  ],
  exports: [CACHE_STORE, CacheSettings],
})
export class CacheStoreModule {}
