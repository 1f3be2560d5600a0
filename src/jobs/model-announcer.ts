/**
 * Workers announce the model they run, so the API (which never loads the model in queue mode) can build
 * cache keys with its version and answer GET /api/v1/models. The record expires unless refreshed, so a
 * fleet that stopped announcing is noticed.
 */
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { ModelInfo } from '../model/caption-model.port';
import { failFastRedisOptions, modelInfoKey } from './redis-options';

const TTL_SECONDS = 60;
const REFRESH_MS = 20_000;

export class ModelAnnouncer implements OnModuleDestroy {
  private readonly logger = new Logger(ModelAnnouncer.name);
  private readonly redis: Redis;
  private timer?: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly queueName: string,
  ) {
    this.redis = new Redis(url, failFastRedisOptions());
    this.redis.on('error', () => undefined); // outages are reported by the queue connections
  }

  start(info: ModelInfo): void {
    const announce = (): void => {
      this.redis
        .set(modelInfoKey(this.queueName), JSON.stringify(info), 'EX', TTL_SECONDS)
        .catch((err: unknown) => this.logger.warn(`could not announce the model: ${(err as Error).message}`));
    };
    // Once connected, then periodically (a Redis that comes back gets the record again).
    this.redis.on('ready', announce);
    if (this.redis.status === 'ready') announce();
    this.timer = setInterval(announce, REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  onModuleDestroy(): void {
    this.stop();
    this.redis.disconnect();
  }
}
