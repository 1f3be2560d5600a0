/**
 * Issue 6, fault 7: job and result retention stays bounded. 10,000 jobs go through a real worker
 * process, produced by the API's own queue adapter built from the same settings (JOB_RETENTION_COUNT,
 * JOB_RETENTION_SECONDS) as the API process next to it: 1,000 complete (full 384x384 payloads answered
 * from the cache after the first) and 9,000 fail as input errors (tiny payloads). Redis memory is
 * sampled throughout; retained jobs are counted per state; the images of retained jobs must be gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadSettings } from '../../src/config/load-settings';
import { RedisSettings } from '../../src/config/redis.settings';
import type { BullMqJobQueue } from '../../src/jobs/bullmq-job-queue.adapter';
import type { CaptionJobData } from '../../src/jobs/caption-job.types';
import { JobSettings } from '../../src/jobs/job.settings';
import { apiProducer } from '../helpers/bull-rig';
import type { ServiceProcess } from '../helpers/processes';
import { bearer } from '../helpers/tokens';
import { sleep, waitFor } from '../helpers/time';
import { CheckedClient } from './support/client';
import { freshPhoto } from './support/images';
import { acceptedId, inspector, settleAll, sha256 } from './support/jobs';
import { apisAndWorker, figure, queueEnv, stopAll, TestRedis } from './support/stack';

const TOTAL = Number(process.env.RETENTION_JOBS ?? 10_000);
const COMPLETING_EVERY = 10; // 1 in 10 completes, the others fail at once
const RETENTION_COUNT = 200;
const RETENTION_SECONDS = 10;
const IN_FLIGHT = 96;
const MiB = 1024 * 1024;

let redis: TestRedis;
let apiProc: ServiceProcess;
let env: Record<string, string | undefined>;
let producer: BullMqJobQueue;
let closeProducer: (() => Promise<void>) | undefined;
let q: Queue;
let probe: Redis;

before(async () => {
  redis = await TestRedis.start();
  env = await queueEnv(redis.url, {
    JOB_RETENTION_COUNT: String(RETENTION_COUNT),
    JOB_RETENTION_SECONDS: String(RETENTION_SECONDS),
    RATE_LIMIT_LIMIT: '100000',
  });
  ({
    apis: [apiProc],
  } = await apisAndWorker(env));
  // The API's producer, wired by the API's provider from the same environment.
  const api = await apiProducer(loadSettings(RedisSettings, env), loadSettings(JobSettings, env));
  producer = api.queue;
  closeProducer = () => api.close();
  q = inspector(redis.url);
  probe = redis.client();
  await waitFor('the producer', () => producer.ping().then(() => true), 10_000);
});

after(async () => {
  await closeProducer?.();
  await q?.close();
  probe?.disconnect();
  await stopAll(redis);
});

async function retained(): Promise<{ completed: number; failed: number; jobKeys: number; events: number }> {
  const [completed, failed, events] = await Promise.all([
    probe.zcard('bull:captions:completed'),
    probe.zcard('bull:captions:failed'),
    probe.xlen('bull:captions:events'),
  ]);
  let jobKeys = 0;
  let cursor = '0';
  do {
    const [next, keys] = await probe.scan(cursor, 'MATCH', 'bull:captions:cap-*', 'COUNT', 1000);
    cursor = next;
    jobKeys += keys.filter((k) => !/:(lock|logs)$/.test(k)).length;
  } while (cursor !== '0');
  return { completed, failed, jobKeys, events };
}

async function drained(): Promise<void> {
  await waitFor(
    'the queue to drain',
    async () => {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0) ? true : undefined;
    },
    120_000,
    100,
  );
}

test(
  '7. the API sets retention by count and age on its jobs; public ids expire with it',
  { timeout: 120_000 },
  async () => {
    const client = new CheckedClient(apiProc.url);
    const auth = await bearer(`retention-${randomUUID()}`);
    const ids = (
      await Promise.all(
        [0, 1, 2].map(() => client.upload(auth, freshPhoto('concert.jpg'), { mode: 'async' })),
      )
    ).map(acceptedId);
    await settleAll(client, auth, ids, 60_000);
    const [job] = await q.getCompleted(0, 0);
    assert.deepEqual(job?.opts.removeOnComplete, { count: RETENTION_COUNT, age: RETENTION_SECONDS });
    assert.deepEqual(job?.opts.removeOnFail, { count: RETENTION_COUNT, age: RETENTION_SECONDS });
    const ttls = await Promise.all(ids.map((id) => probe.ttl(`captioner:captions:job:${id}`)));
    for (const ttl of ttls) assert.ok(ttl > 0 && ttl <= RETENTION_SECONDS, `public id TTL ${ttl}`);
  },
);

test(
  `7. ${TOTAL} jobs: retained jobs and Redis memory stay bounded (count, then age)`,
  { timeout: 420_000 },
  async () => {
    const version = JSON.parse((await probe.get('captioner:captions:model')) ?? '{}') as { version: string };
    const full = Buffer.alloc(384 * 384 * 3, 77).toString('base64');
    const imageSha = sha256(Buffer.from(`retention-${randomUUID()}`));
    const data = (i: number, tag: string): CaptionJobData => {
      const completes = i % COMPLETING_EVERY === 0;
      return {
        rgb: completes ? full : 'AAAA',
        size: completes ? 384 : 2,
        width: 640,
        height: 480,
        sha256: imageSha,
        options: { numCaptions: 1 },
        cacheKey: `retention:${tag}:${i}`,
        modelVersion: version.version,
        enqueuedAt: Date.now(),
      };
    };
    const baseline = await redis.usedMemory();
    let peak = baseline;
    let worst = { completed: 0, failed: 0, jobKeys: 0, events: 0 };
    const started = Date.now();
    const tag = randomUUID();
    let next = 0;
    const produce = async (): Promise<void> => {
      for (let i = next++; i < TOTAL; i = next++) {
        await producer.enqueue(data(i, tag));
        if (i % 250 === 0) {
          peak = Math.max(peak, await redis.usedMemory());
          const r = await retained();
          worst = {
            completed: Math.max(worst.completed, r.completed),
            failed: Math.max(worst.failed, r.failed),
            jobKeys: Math.max(worst.jobKeys, r.jobKeys),
            events: Math.max(worst.events, r.events),
          };
        }
        for (;;) {
          const c = await q.getJobCounts('waiting', 'active', 'prioritized');
          if ((c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) < IN_FLIGHT) break;
          await sleep(20);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, produce));
    await drained();
    const seconds = (Date.now() - started) / 1000;
    const after = await retained();
    const afterMemory = await redis.usedMemory();
    // Every retained completed job dropped its ~590 KB image.
    const kept = await q.getCompleted(0, 49);
    for (const j of kept) assert.equal(j.data.rgb, '', `job ${j.id} still holds its image`);

    // Age: once the retained jobs are older than JOB_RETENTION_SECONDS, the next finished jobs remove them.
    await sleep((RETENTION_SECONDS + 1) * 1000);
    for (let i = 0; i < 20; i++) await producer.enqueue(data(i, `${tag}-late`));
    await drained();
    await sleep(500);
    const aged = await retained();
    const agedMemory = await redis.usedMemory();
    const mib = (n: number): string => (n / MiB).toFixed(1);
    figure(
      `retention: ${TOTAL} jobs (${TOTAL / COMPLETING_EVERY} completed, ${TOTAL - TOTAL / COMPLETING_EVERY} failed) in ${seconds.toFixed(0)} s; JOB_RETENTION_COUNT=${RETENTION_COUNT}, JOB_RETENTION_SECONDS=${RETENTION_SECONDS}`,
    );
    figure(
      `retention: Redis used_memory ${mib(baseline)} MiB before, peak ${mib(peak)} MiB (with up to ${IN_FLIGHT} queued 590 KB payloads), ${mib(afterMemory)} MiB after, ${mib(agedMemory)} MiB after the age limit`,
    );
    figure(
      `retention: retained after the run ${after.completed} completed / ${after.failed} failed (worst ${worst.completed}/${worst.failed}), ${after.jobKeys} job hashes, event stream ${after.events} entries; after the age limit ${aged.completed}/${aged.failed}`,
    );
    assert.ok(
      worst.completed <= RETENTION_COUNT && after.completed <= RETENTION_COUNT,
      `completed kept: ${worst.completed}`,
    );
    assert.ok(
      worst.failed <= RETENTION_COUNT && after.failed <= RETENTION_COUNT,
      `failed kept: ${worst.failed}`,
    );
    assert.ok(after.jobKeys <= 2 * RETENTION_COUNT, `job hashes: ${after.jobKeys}`);
    assert.ok(worst.events <= 11_000 && after.events <= 11_000, `event stream: ${worst.events}`);
    // 400 retained jobs of ~1 KB and a 10,000-entry event stream: a few MiB. The unbounded cases (images
    // kept: 590 KB each; no removal: 10,000 jobs) are tens to hundreds of MiB.
    assert.ok(afterMemory - baseline < 8 * MiB, `Redis grew by ${mib(afterMemory - baseline)} MiB`);
    assert.ok(
      aged.completed <= 20 && aged.failed <= 20,
      `after the age limit: ${aged.completed}/${aged.failed}`,
    );
  },
);
