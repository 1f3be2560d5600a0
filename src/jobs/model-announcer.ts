/**
 * Workers announce the model they run, so the API (which never loads the model in queue mode) can build
 * cache keys with its version and answer GET /api/v1/models (AnnouncedModel reads it). The record expires
 * unless refreshed, so a fleet that stopped announcing is noticed. Each worker also publishes its recent
 * batch duration (BatchTimings), from which the API estimates waits.
 */
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createQueueRedis, type RedisConnection } from '../config/redis-connection';
import type { RedisSettings } from '../config/redis.settings';
import type { ModelInfo } from '../model/caption-model.port';
import type { BatchTimings } from './batch-timings';
import { failFastRedisOptions, modelInfoKey, workerStatsKey } from './redis-options';
import { publishStats } from './worker-stats';

const TTL_SECONDS = 60;
const REFRESH_MS = 5_000;

export class ModelAnnouncer implements OnModuleDestroy {
  private readonly logger = new Logger(ModelAnnouncer.name);
  private readonly redis: RedisConnection;
  private readonly queueName: string;
  private readonly workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private lastWarn = 0;

  constructor(
    settings: RedisSettings,
    private readonly timings?: BatchTimings,
  ) {
    this.queueName = settings.QUEUE_NAME;
    this.redis = createQueueRedis(settings, failFastRedisOptions());
    this.redis.on('error', () => undefined); // outages are reported by the queue connections
  }

  start(info: ModelInfo): void {
    const announce = (): void => {
      Promise.all([
        this.redis.set(modelInfoKey(this.queueName), JSON.stringify(info), 'EX', TTL_SECONDS),
        publishStats(this.redis, workerStatsKey(this.queueName), this.workerId, {
          at: Date.now(),
          batchSeconds: this.timings?.batchSeconds,
        }),
      ]).catch((err: unknown) => this.warn(`could not announce the model: ${(err as Error).message}`));
    };
    // Once connected, then periodically (a Redis that comes back gets the record again).
    this.redis.on('ready', announce);
    if (this.redis.status === 'ready') announce();
    this.timer = setInterval(announce, REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    void this.redis.hdel(workerStatsKey(this.queueName), this.workerId).catch(() => undefined);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.redis.disconnect();
  }

  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarn < 30_000) return;
    this.lastWarn = now;
    this.logger.warn(message);
  }
}
