/**
 * Issue 13 section 7: an accepted job is on the queue Redis' replicas before the API answers 202
 * (QUEUE_WAIT_REPLICAS, Redis WAIT), so a failover cannot lose it. Against real redis-servers: a master
 * with a replica, and a master without one (the job is still accepted, and counted as unreplicated).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadSettings } from '../../../src/config/load-settings';
import { RedisSettings } from '../../../src/config/redis.settings';
import type { BullMqJobQueue } from '../../../src/jobs/bullmq-job-queue.adapter';
import { JobSettings } from '../../../src/jobs/job.settings';
import { JOB_QUEUE } from '../../../src/jobs/job-queue.port';
import { JobsModule } from '../../../src/jobs/jobs.module';
import { MetricsModule } from '../../../src/metrics/metrics.module';
import { MetricsService } from '../../../src/metrics/metrics.service';
import { jobData } from '../../helpers/job-queue.contract';
import { PrivateRedis } from '../../helpers/redis';
import { waitFor } from '../../helpers/time';

let master: PrivateRedis;
let replica: PrivateRedis;
const clients: Redis[] = [];

function client(url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
}

before(async () => {
  master = await PrivateRedis.start();
  replica = await PrivateRedis.start(['--replicaof', '127.0.0.1', String(master.port)]);
  const r = client(replica.url);
  await waitFor(
    'the replica to sync',
    async () => (/master_link_status:up/.test(await r.info('replication')) ? true : undefined),
    20_000,
  );
});

after(async () => {
  for (const c of clients) c.disconnect();
  await replica?.destroy();
  await master?.destroy();
});

async function producer(env: Record<string, string>): Promise<{
  queue: BullMqJobQueue;
  metrics: MetricsService;
  close(): Promise<void>;
}> {
  const redis = loadSettings(RedisSettings, { QUEUE_NAME: `repl-${randomUUID().slice(0, 8)}`, ...env });
  @Module({ imports: [MetricsModule, JobsModule.forApi(redis, loadSettings(JobSettings, {}))] })
  class ApiSide {}
  const app = await NestFactory.createApplicationContext(ApiSide, { logger: false, abortOnError: false });
  const queue = app.get<BullMqJobQueue>(JOB_QUEUE);
  await waitFor('the queue to be reachable', () => queue.ping().then(() => true), 5000);
  return { queue, metrics: app.get(MetricsService), close: () => app.close() };
}

async function waitCalls(url: string): Promise<number> {
  const stats = await client(url).info('commandstats');
  return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

async function unreplicated(metrics: MetricsService): Promise<number> {
  const { body } = await metrics.metrics();
  return Number(/captioner_jobs_total\{outcome="unreplicated"\} (\d+)/.exec(body)?.[1] ?? 0);
}

test('with QUEUE_WAIT_REPLICAS=1 an accepted job and its claim are on the replica when claim returns', async () => {
  const p = await producer({ REDIS_URL: master.url, QUEUE_WAIT_REPLICAS: '1' });
  try {
    const waitsBefore = await waitCalls(master.url);
    const readReplica = client(replica.url);
    for (let i = 0; i < 5; i++) {
      const data = jobData();
      const job = await p.queue.enqueue(data);
      const jobId = await p.queue.claim(job, 'subject-a', data.cacheKey);
      // Read from the replica at once: WAIT returned only once it had acknowledged these writes.
      const keys = await readReplica.keys(`*${jobId}*`);
      assert.equal(keys.length, 1, `the owner record of ${jobId} is on the replica`);
      const jobKeys = await readReplica.keys(`*:${job.internalId}`);
      assert.ok(jobKeys.length >= 1, `the BullMQ job ${job.internalId} is on the replica`);
    }
    assert.equal((await waitCalls(master.url)) - waitsBefore, 5, 'one WAIT per accepted job');
    assert.equal(await unreplicated(p.metrics), 0);
  } finally {
    await p.close();
  }
});

test('without a replica to acknowledge, the job is still accepted and counted as unreplicated', async () => {
  const lone = await PrivateRedis.start();
  try {
    const p = await producer({ REDIS_URL: lone.url, QUEUE_WAIT_REPLICAS: '1', QUEUE_WAIT_TIMEOUT_MS: '50' });
    try {
      const data = jobData();
      const job = await p.queue.enqueue(data);
      const jobId = await p.queue.claim(job, 'subject-b', data.cacheKey);
      assert.match(jobId, /^[0-9a-f-]{36}$/);
      const view = await p.queue.status(jobId, 'subject-b');
      assert.equal(view?.status, 'processing', 'accepted and readable');
      assert.equal(await unreplicated(p.metrics), 1);
      assert.equal(await waitCalls(lone.url), 1);
    } finally {
      await p.close();
    }
  } finally {
    await lone.destroy();
  }
});

test('standalone default (no QUEUE_WAIT_REPLICAS): no WAIT is issued', async () => {
  const p = await producer({ REDIS_URL: master.url });
  try {
    const before = await waitCalls(master.url);
    const data = jobData();
    const job = await p.queue.enqueue(data);
    await p.queue.claim(job, 'subject-c', data.cacheKey);
    assert.equal(await waitCalls(master.url), before);
  } finally {
    await p.close();
  }
});
