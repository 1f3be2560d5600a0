/**
 * BullMQ needs a Redis that never evicts: an evicted job hash, lock or wait list loses jobs silently.
 * At start-up (API and worker) the queue Redis' `maxmemory-policy` is read with INFO (allowed by managed
 * Redis services that disable CONFIG); anything but `noeviction` is logged as an error, or stops the
 * process with REDIS_EVICTION_POLICY_CHECK=refuse. A Redis that does not answer at start-up does not
 * block it (the processes start without Redis and reconnect): it is checked once it answers, and then a
 * bad policy can only be logged. On a Redis Cluster (REDIS_CLUSTER) every master is asked, and the first
 * one that may evict is the answer (each master holds some queue's slot).
 */
import { Logger } from '@nestjs/common';
import { ConfigError } from '../config/load-settings';
import { createRedisConnection, masterNodes } from '../config/redis-connection';
import type { RedisSettings } from '../config/redis.settings';

const RETRY_MS = 10_000;

/**
 * The policy of the Redis at `url` (of the first evicting master of a cluster); undefined when it does
 * not answer within about 2 s.
 */
export async function readEvictionPolicy(url: string, cluster = false): Promise<string | undefined> {
  const client = createRedisConnection(url, cluster, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const policies = await Promise.all(
      masterNodes(client).map(async (node) => {
        const info = await node.info('memory');
        return /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'unknown';
      }),
    );
    if (policies.length === 0) return undefined;
    return policies.find((p) => p !== 'noeviction') ?? 'noeviction';
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

export function evictionProblem(policy: string): string {
  return (
    `The queue Redis (REDIS_URL) has maxmemory-policy "${policy}": under memory pressure it evicts ` +
    'BullMQ keys and jobs are lost without an error. Set maxmemory-policy noeviction on that Redis ' +
    '(and give the cache its own, evicting Redis with CACHE_REDIS_URL).'
  );
}

/**
 * Resolves when the check is done or deferred; throws a ConfigError naming REDIS_EVICTION_POLICY_CHECK
 * when the policy is wrong and the setting is `refuse`.
 */
export async function checkQueueRedisPolicy(
  settings: RedisSettings,
  logger = new Logger('QueueRedis'),
  retryMs = RETRY_MS,
): Promise<void> {
  const url = settings.REDIS_URL;
  if (url === undefined) return;
  const cluster = settings.REDIS_CLUSTER;
  const policy = await readEvictionPolicy(url, cluster);
  if (policy === undefined) {
    logger.warn('the queue Redis does not answer: its maxmemory-policy is checked once it does');
    const timer = setInterval(() => {
      void readEvictionPolicy(url, cluster).then((later) => {
        if (later === undefined) return;
        clearInterval(timer);
        if (later !== 'noeviction') logger.error(`WARNING: ${evictionProblem(later)}`);
      });
    }, retryMs);
    timer.unref();
    return;
  }
  if (policy === 'noeviction') return;
  if (settings.REDIS_EVICTION_POLICY_CHECK === 'refuse') {
    throw new ConfigError(
      ['REDIS_EVICTION_POLICY_CHECK'],
      `${evictionProblem(policy)} Refusing to start (REDIS_EVICTION_POLICY_CHECK=refuse).`,
    );
  }
  logger.error(`WARNING: ${evictionProblem(policy)} (REDIS_EVICTION_POLICY_CHECK=warn: starting anyway)`);
}
