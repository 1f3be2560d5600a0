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

/**
 * The base of the keys the jobs module writes itself (job owners, their claims, webhook states):
 * `captioner:<QUEUE_NAME>` standalone (unchanged), `captioner:{<QUEUE_NAME>}` on a Redis Cluster, so the
 * keys one MULTI (claim) or MGET touches share the queue's hash-tag slot, as BullMQ's own keys do.
 */
export function jobKeyBase(queueName: string, cluster: boolean): string {
  return cluster ? `captioner:{${queueName}}` : `captioner:${queueName}`;
}

/** Where workers announce the model they run (JSON ModelInfo, expiring). */
export function modelInfoKey(queueName: string): string {
  return `captioner:${queueName}:model`;
}

/** Where each worker publishes its recent batch duration (hash: worker id -> JSON WorkerStats). */
export function workerStatsKey(queueName: string): string {
  return `captioner:${queueName}:workers`;
}
