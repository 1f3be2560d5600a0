/**
 * The queues on @nestjs/bullmq: injection names, and the root options built from the validated Redis
 * settings. The BullMQ queue name itself is QUEUE_NAME (the Helm chart's autoscaler watches it), so the
 * injection name is a constant and JobsModule gives the queue its configured name.
 */
import type { QueueOptions } from 'bullmq';
import type { RedisSettings } from '../config/redis.settings';
import { failFastRedisOptions } from './redis-options';

/**
 * @InjectQueue name of the caption queue (its BullMQ name is RedisSettings.QUEUE_NAME). A name QUEUE_NAME
 * cannot take (it has a dot), so the @Processor and @QueueEventsListener, which look their queue up by
 * the BullMQ name, always take the root connection (blocking-safe) rather than the producer's.
 */
export const CAPTION_QUEUE = 'caption.producer';

/** @InjectQueue name of the webhook delivery queue (BullMQ name: `<QUEUE_NAME>-webhooks`). */
export const WEBHOOK_QUEUE = 'webhook.producer';

export function webhookQueueName(redis: RedisSettings): string {
  return `${redis.QUEUE_NAME}-webhooks`;
}

/** Shared connection options of every queue, worker and queue-events listener. */
export function bullRootOptions(redis: RedisSettings): Pick<QueueOptions, 'connection'> {
  if (redis.REDIS_URL === undefined) throw new Error('queue mode needs REDIS_URL');
  return {
    connection: {
      url: redis.REDIS_URL,
      retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000),
    },
  };
}

/**
 * The producer's queue: its own fail-fast connection (no offline queue, one retry), so an operation while
 * Redis is down fails in milliseconds (a 503) instead of waiting in ioredis's offline queue.
 */
export function producerQueueOptions(
  redis: RedisSettings,
): { name: string } & Pick<QueueOptions, 'connection'> {
  if (redis.REDIS_URL === undefined) throw new Error('queue mode needs REDIS_URL');
  const connection = { url: redis.REDIS_URL, ...failFastRedisOptions() } as QueueOptions['connection'];
  return { name: redis.QUEUE_NAME, connection };
}

export function webhookProducerOptions(
  redis: RedisSettings,
): { name: string } & Pick<QueueOptions, 'connection'> {
  return { ...producerQueueOptions(redis), name: webhookQueueName(redis) };
}
