/** Redis connection options and keys shared by the queue's producer side and the worker. */
import type { RedisOptions } from 'ioredis';

/** Deadline of one producer operation (a healthy Redis answers in a millisecond). */
export const OP_TIMEOUT_MS = 2000;

/** ioredis options of a producer: no offline queue, bounded retries, reconnect forever with backoff. */
export function failFastRedisOptions(): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: OP_TIMEOUT_MS,
    retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000),
  };
}

/** Where workers announce the model they run (JSON ModelInfo, expiring). */
export function modelInfoKey(queueName: string): string {
  return `captioner:${queueName}:model`;
}

/** Where each worker publishes its recent batch duration (hash: worker id -> JSON WorkerStats). */
export function workerStatsKey(queueName: string): string {
  return `captioner:${queueName}:workers`;
}
