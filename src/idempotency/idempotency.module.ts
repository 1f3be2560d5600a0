/**
 * idempotency: Idempotency-Key on POST /api/v1/caption. The store follows RedisSettings: the queue's
 * Redis when REDIS_URL is set (records shared by every API replica), else in memory.
 */
import { Module } from '@nestjs/common';
import { provideSettings } from '../config/provide-settings';
import { RedisSettings } from '../config/redis.settings';
import { IdempotencyService } from './idempotency.service';
import { IdempotencySettings } from './idempotency.settings';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from './idempotency-store.port';
import { MemoryIdempotencyStore } from './memory-idempotency-store.adapter';
import { RedisIdempotencyStore } from './redis-idempotency-store.adapter';

@Module({
  providers: [
    provideSettings(IdempotencySettings),
    provideSettings(RedisSettings),
    {
      provide: IDEMPOTENCY_STORE,
      inject: [RedisSettings],
      useFactory: (redis: RedisSettings): IdempotencyStore =>
        redis.REDIS_URL === undefined
          ? new MemoryIdempotencyStore()
          : new RedisIdempotencyStore(redis.REDIS_URL, redis.REDIS_CLUSTER),
    },
    IdempotencyService,
  ],
  exports: [IdempotencyService],
})
export class IdempotencyModule {}
