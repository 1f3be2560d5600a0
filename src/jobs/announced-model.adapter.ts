/** Queue mode's ServedModel: the record workers announce in Redis (ModelAnnouncer), cached briefly. */
import type { OnModuleDestroy } from '@nestjs/common';
import { createQueueRedis, type RedisConnection } from '../config/redis-connection';
import type { RedisSettings } from '../config/redis.settings';
import type { ModelInfo } from '../model/caption-model.port';
import { failFastRedisOptions, modelInfoKey } from './redis-options';
import type { ServedModel } from './served-model.port';

const TTL_MS = 5000;

export class AnnouncedModel implements ServedModel, OnModuleDestroy {
  private readonly redis: RedisConnection;
  private readonly queueName: string;
  private cached?: { at: number; info: ModelInfo | undefined };

  constructor(settings: RedisSettings) {
    this.queueName = settings.QUEUE_NAME;
    this.redis = createQueueRedis(settings, failFastRedisOptions());
    this.redis.on('error', () => undefined); // outages are reported by the queue's connections
  }

  async current(): Promise<ModelInfo | undefined> {
    const cached = this.cached;
    if (cached !== undefined && Date.now() - cached.at < TTL_MS) return cached.info;
    try {
      const raw = await this.redis.get(modelInfoKey(this.queueName));
      const info = raw === null ? undefined : parse(raw);
      this.cached = { at: Date.now(), info };
      return info;
    } catch {
      return cached?.info; // keep the last known model through a Redis blip
    }
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}

function parse(raw: string): ModelInfo | undefined {
  try {
    return JSON.parse(raw) as ModelInfo;
  } catch {
    return undefined;
  }
}
