/**
 * Issue 13 section 7: queue mode's Redis pieces on a real three-master Redis Cluster (one replica each)
 * started on loopback ports by the test: BullMQ through the connection factory and the hash-tag prefix,
 * no job lost when a master fails during a stream of jobs, the throttler storage, the eviction-policy
 * check on every master, and the cache's Keyv store through a failover. Never skipped: a redis-server
 * without cluster support fails the suite with a clear message.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { Keyv } from 'keyv';
import { loadSettings } from '../../src/config/load-settings';
import { createKeyvRedisStore, createQueueRedis, masterNodes } from '../../src/config/redis-connection';
import { bullPrefix, RedisSettings } from '../../src/config/redis.settings';
import { readEvictionPolicy } from '../../src/bootstrap/queue-redis-policy';
import { RedisThrottlerStorage } from '../../src/throttling/redis-throttler.storage';
import { RedisCluster } from '../helpers/redis-cluster';
import { sleep, waitFor } from '../helpers/time';

/** A producer's connection: fails fast, as the API's does. */
const PRODUCER: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 };
/** A BullMQ worker's (and QueueEvents') connection: BullMQ requires maxRetriesPerRequest null. */
const CONSUMER: RedisOptions = { maxRetriesPerRequest: null };

function clusterSettings(cluster: RedisCluster, queueName = 'captions'): RedisSettings {
  return loadSettings(RedisSettings, {
    REDIS_URL: cluster.url,
    REDIS_CLUSTER: 'true',
    QUEUE_NAME: queueName,
  });
}

async function closeAll(...things: Array<{ close(): Promise<unknown> } | { quit(): Promise<unknown> }>) {
  for (const t of things) await ('close' in t ? t.close() : t.quit()).catch(() => undefined);
}

describe('BullMQ on a Redis Cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await RedisCluster.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('the factory connects and a Queue + Worker + QueueEvents round trip works, every key in one slot', async () => {
    const settings = clusterSettings(cluster, `rt-${randomUUID().slice(0, 8)}`);
    const prefix = bullPrefix(settings);
    assert.equal(prefix, `{${settings.QUEUE_NAME}}`);
    const producer = createQueueRedis(settings, PRODUCER);
    const consumer = createQueueRedis(settings, CONSUMER);
    const eventsConnection = createQueueRedis(settings, CONSUMER);
    assert.ok(producer instanceof Cluster, 'a Cluster client in cluster mode');
    const queue = new Queue(settings.QUEUE_NAME, { connection: producer, prefix });
    // From the stream's start: a job that finishes before the first XREAD is not missed.
    const events = new QueueEvents(settings.QUEUE_NAME, {
      connection: eventsConnection,
      prefix,
      lastEventId: '0-0',
    });
    const worker = new Worker(
      settings.QUEUE_NAME,
      async (job) => ({ doubled: (job.data as { n: number }).n * 2 }),
      {
        connection: consumer,
        prefix,
      },
    );
    try {
      await Promise.all([worker.waitUntilReady(), events.waitUntilReady()]);
      const job = await queue.add('double', { n: 21 });
      const result = await job.waitUntilFinished(events, 60_000);
      assert.deepEqual(result, { doubled: 42 });

      // Every BullMQ key of the queue sits on the one master that serves the hash tag's slot.
      const owner = await cluster.masterOf(prefix);
      const holders: number[] = [];
      for (const node of masterNodes(producer)) {
        const keys = await node.keys(`${prefix}*`);
        if (keys.length > 0) holders.push(node.options.port ?? 0);
      }
      assert.deepEqual(holders, [owner]);
    } finally {
      await closeAll(worker, events, queue);
      await closeAll(producer, consumer, eventsConnection);
    }
  });

  test('a master failing during a stream of 200 jobs loses none: every job completes', async () => {
    const settings = clusterSettings(cluster, `fo-${randomUUID().slice(0, 8)}`);
    const prefix = bullPrefix(settings);
    const producer = createQueueRedis(settings, PRODUCER);
    const consumer = createQueueRedis(settings, CONSUMER);
    const queue = new Queue(settings.QUEUE_NAME, { connection: producer, prefix });
    queue.on('error', () => undefined);
    const worker = new Worker(settings.QUEUE_NAME, async (job) => (job.data as { n: number }).n * 2, {
      connection: consumer,
      prefix,
      concurrency: 4,
      // A job whose completion was lost with the master is found stalled and run again, soon.
      lockDuration: 5000,
      stalledInterval: 2000,
      maxStalledCount: 10,
    });
    worker.on('error', () => undefined);
    const TOTAL = 200;
    let addRetries = 0;
    /** Adds job n, retrying (same job id: an add that did land is not duplicated) while the cluster heals. */
    const add = async (n: number): Promise<void> => {
      for (;;) {
        try {
          await queue.add(
            'double',
            { n },
            { jobId: `job-${n}`, attempts: 10, backoff: { type: 'fixed', delay: 500 } },
          );
          return;
        } catch {
          addRetries++;
          await sleep(200);
        }
      }
    };
    try {
      await worker.waitUntilReady();
      const stream = (async () => {
        const adds: Array<Promise<void>> = [];
        for (let n = 0; n < TOTAL; n++) {
          adds.push(add(n));
          await sleep(25); // a steady rate, about 40 jobs per second
        }
        await Promise.all(adds);
      })();
      // Fail the queue's master once the stream is well under way.
      await waitFor(
        '50 jobs to be added',
        async () =>
          (await queue.count().catch(() => 0)) + (await queue.getCompletedCount().catch(() => 0)) >= 50
            ? true
            : undefined,
        60_000,
        50,
      );
      const failoverStarted = Date.now();
      const killed = await cluster.failover(prefix);
      const failoverMs = Date.now() - failoverStarted;
      assert.notEqual(await cluster.masterOf(prefix), killed, 'a replica serves the queue slot now');
      await stream;

      const missing = await waitFor(
        'every job to complete',
        async () => {
          const left: string[] = [];
          for (let n = 0; n < TOTAL; n++) {
            const job = await queue.getJob(`job-${n}`);
            if (job === undefined || job.returnvalue !== n * 2 || job.finishedOn === undefined)
              left.push(`job-${n}`);
          }
          return left.length === 0 ? left : undefined;
        },
        180_000,
        1000,
      );
      assert.deepEqual(missing, []);
      assert.equal(await queue.getFailedCount(), 0, 'no job failed for good');
      assert.equal(await queue.getCompletedCount(), TOTAL);
      console.log(`# failover in ${failoverMs} ms during the stream: ${addRetries} add retries, 0 jobs lost`);
    } finally {
      await closeAll(worker, queue);
      await closeAll(producer, consumer);
    }
  });
});

describe('Throttler, policy check and cache store on a Redis Cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await RedisCluster.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('the throttler storage counts atomically across two instances, subjects spread over masters', async () => {
    const open = async () => {
      const s = new RedisThrottlerStorage(cluster.url, { cluster: true });
      await s.onModuleInit();
      return s;
    };
    const [a, b] = [await open(), await open()];
    try {
      const key = randomUUID();
      const records = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0 ? a : b).increment(key, 60_000, 10, 60_000, 'default'),
        ),
      );
      assert.equal(records.filter((r) => !r.isBlocked).length, 10, 'exactly the limit passes');
      assert.equal(Math.max(...records.map((r) => r.totalHits)), 11, 'blocked hits are not counted');

      const other = randomUUID();
      assert.equal((await a.increment(other, 60_000, 2, 60_000, 'default')).totalHits, 1);
      assert.equal((await b.increment(other, 60_000, 2, 60_000, 'default')).totalHits, 2);
      assert.equal((await a.increment(other, 60_000, 2, 60_000, 'default')).isBlocked, true);

      // Many subjects: their keys land on more than one master (the hash tag is per subject).
      const masters = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const subject = randomUUID();
        await a.increment(subject, 60_000, 5, 60_000, 'default');
        masters.add(await cluster.masterOf(`{default:${subject}}`));
      }
      assert.ok(masters.size >= 2, `subjects on ${masters.size} master(s)`);
    } finally {
      await a.onModuleDestroy();
      await b.onModuleDestroy();
    }
  });

  test('the eviction-policy check reads every master', async () => {
    assert.equal(await readEvictionPolicy(cluster.url, true), 'noeviction');
    const port = await cluster.masterOf('any-key');
    const master = new Redis({ port, host: '127.0.0.1' });
    try {
      await master.config('SET', 'maxmemory-policy', 'allkeys-lru');
      assert.equal(
        await readEvictionPolicy(cluster.url, true),
        'allkeys-lru',
        'one evicting master is found',
      );
    } finally {
      await master.config('SET', 'maxmemory-policy', 'noeviction');
      master.disconnect();
    }
    assert.equal(await readEvictionPolicy('redis://127.0.0.1:1', true), undefined, 'nothing answers');
  });

  test('the Keyv store sets and gets on the cluster and recovers after a failover', async () => {
    const settings = loadSettings(RedisSettings, {
      CACHE_REDIS_URL: cluster.url,
      CACHE_REDIS_CLUSTER: 'true',
    });
    assert.equal(settings.cacheCluster, true);
    let errors = 0;
    const store = createKeyvRedisStore(settings, { onError: () => errors++ });
    const keyv = new Keyv<string>({ store, useKeyPrefix: false, throwOnErrors: true });
    keyv.on('error', () => undefined);
    const prefix = `captioner:cache-test:${randomUUID()}:`;
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `${prefix}${i}`);
      for (const k of keys) await keyv.set(k, `value of ${k}`, 600_000);
      for (const k of keys) assert.equal(await keyv.get(k), `value of ${k}`);
      const spread = new Set(await Promise.all(keys.map((k) => cluster.masterOf(k))));
      assert.ok(spread.size >= 2, 'the keys span several masters');

      const victim = keys[0];
      const killed = await cluster.failover(victim);
      // Operations during and just after the failover may fail (misses: there is no offline queue); the
      // store must find the new master by itself: every key readable again, the failed-over slot writable.
      const afterwards = await waitFor(
        'the cache store to serve every key again, the failed-over slot included',
        async () => {
          try {
            const values = [];
            for (const k of keys) values.push(await keyv.get(k));
            if (values.some((v, i) => v !== `value of ${keys[i]}`)) return undefined;
            await keyv.set(victim, 'fresh', 600_000);
            return { values, victim: await keyv.get(victim) };
          } catch {
            return undefined;
          }
        },
        60_000,
        250,
      );
      assert.deepEqual(
        afterwards.values,
        keys.map((k) => `value of ${k}`),
        'the values survived on the replicas',
      );
      assert.equal(afterwards.victim, 'fresh', 'the failed-over slot is writable');
      assert.notEqual(await cluster.masterOf(victim), killed);
    } finally {
      await keyv.disconnect().catch(() => undefined);
    }
  });
});
