/**
 * The queues on @nestjs/bullmq: injection names, and the root options built from the validated Redis
 * settings. The BullMQ queue name itself is QUEUE_NAME (the Helm chart's autoscaler watches it), so the
 * injection name is a constant and JobsModule gives the queue its configured name.
 */
import type { QueueOptions } from 'bullmq';
import { createQueueRedis, type RedisConnection } from '../config/redis-connection';
import { bullPrefix, type RedisSettings } from '../config/redis.settings';
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

type BullOptions = Pick<QueueOptions, 'connection' | 'prefix'>;

const reconnect = (times: number): number => Math.min(100 * 2 ** times, 2000);

/**
 * The ioredis Cluster clients handed to BullMQ in cluster mode. BullMQ only builds standalone clients
 * from options, so on a cluster it is given client instances, which it shares and never closes (it
 * closes only the duplicates it makes for blocking reads): JobsModule closes these at shutdown, after
 * the queues, workers and listeners (BullMqConnectionsCloser).
 */
export class BullMqConnections {
  private readonly owned: RedisConnection[] = [];

  constructor(private readonly redis: RedisSettings) {}

  create(options: Parameters<typeof createQueueRedis>[1]): RedisConnection {
    const connection = createQueueRedis(this.redis, options);
    connection.on('error', () => undefined); // reported by BullMQ's own listeners and the producer
    this.owned.push(connection);
    return connection;
  }

  async closeAll(): Promise<void> {
    const all = this.owned.splice(0);
    await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

/**
 * Shared connection options of every queue, worker and queue-events listener. Standalone: BullMQ's own
 * client from the URL and the prefix `bull`, as always. Cluster: an ioredis Cluster and the hash-tag
 * prefix `{QUEUE_NAME}` (bullPrefix).
 */
export function bullRootOptions(redis: RedisSettings, connections: BullMqConnections): BullOptions {
  if (redis.REDIS_URL === undefined) throw new Error('queue mode needs REDIS_URL');
  const prefix = bullPrefix(redis);
  if (redis.REDIS_CLUSTER) {
    return {
      prefix,
      connection: connections.create({ maxRetriesPerRequest: null, retryStrategy: reconnect }),
    };
  }
  return { prefix, connection: { url: redis.REDIS_URL, retryStrategy: reconnect } };
}

/**
 * The producer's queue: its own fail-fast connection (no offline queue, one retry), so an operation while
 * Redis is down fails in milliseconds (a 503) instead of waiting in ioredis's offline queue.
 */
export function producerQueueOptions(
  redis: RedisSettings,
  connections: BullMqConnections,
): { name: string } & BullOptions {
  if (redis.REDIS_URL === undefined) throw new Error('queue mode needs REDIS_URL');
  const prefix = bullPrefix(redis);
  const connection = redis.REDIS_CLUSTER
    ? connections.create(failFastRedisOptions())
    : ({ url: redis.REDIS_URL, ...failFastRedisOptions() } as QueueOptions['connection']);
  return { name: redis.QUEUE_NAME, prefix, connection };
}

export function webhookProducerOptions(
  redis: RedisSettings,
  connections: BullMqConnections,
): { name: string } & BullOptions {
  return { ...producerQueueOptions(redis, connections), name: webhookQueueName(redis) };
}
