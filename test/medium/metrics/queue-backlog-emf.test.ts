/**
 * The CloudWatch EMF publisher against real BullMQ counts on the shared Redis: jobs waiting and jobs a
 * worker holds (active) both count in QueueBacklog.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { loadSettings } from '../../../src/config/load-settings';
import { RedisSettings } from '../../../src/config/redis.settings';
import type { BullMqJobQueue } from '../../../src/jobs/bullmq-job-queue.adapter';
import { JobSettings } from '../../../src/jobs/job.settings';
import { apiProducer } from '../../helpers/bull-rig';
import { CloudWatchEmfSettings } from '../../../src/metrics/cloudwatch-emf.settings';
import { QueueBacklogEmfService, type EmfRecord } from '../../../src/metrics/queue-backlog-emf.service';
import { jobData } from '../../helpers/job-queue.contract';
import { sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';
import { waitFor } from '../../helpers/time';

let skip: string | undefined;
const queueName = `emf-${randomUUID()}`;
let queue: BullMqJobQueue | undefined;
let closeProducer: (() => Promise<void>) | undefined;
let worker: Worker | undefined;

before(async () => {
  skip = await sharedRedisOrSkip();
});

after(async () => {
  await worker?.close(true);
  await closeProducer?.();
  const q = new Queue(queueName, { connection: { url: sharedRedisUrl } });
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
});

test('QueueBacklog = waiting + active, read from the real queue', { timeout: 60_000 }, async (t) => {
  if (skip !== undefined) return t.skip(skip);
  // The API's producer as JobsModule.forApi builds it, on a queue of this test's own.
  const producer = await apiProducer(
    Object.assign(new RedisSettings(), { REDIS_URL: sharedRedisUrl, QUEUE_NAME: queueName }),
    Object.assign(new JobSettings(), { JOB_ATTEMPTS: 1, JOB_RETENTION_COUNT: 10, JOB_RETENTION_SECONDS: 60 }),
  );
  queue = producer.queue;
  closeProducer = producer.close;
  const q = queue;
  await waitFor('the queue to be reachable', () => q.ping().then(() => true), 10_000);
  for (let i = 0; i < 5; i++) await queue.enqueue(jobData());

  // A worker that only takes jobs (no processing): two of the five move to `active`.
  worker = new Worker(queueName, null, { connection: { url: sharedRedisUrl }, autorun: false });
  const token = randomUUID();
  assert.ok(await worker.getNextJob(token), 'no job to take');
  assert.ok(await worker.getNextJob(token), 'no second job to take');

  const lines: string[] = [];
  const emf = new QueueBacklogEmfService(queue, {
    settings: loadSettings(CloudWatchEmfSettings, {
      CLOUDWATCH_EMF: 'true',
      CLOUDWATCH_EMF_NAMESPACE: 'Test/Captioner',
    }),
    queueName,
    write: (line) => lines.push(line),
  });
  await emf.publishOnce();
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]) as EmfRecord;
  assert.equal(record.QueueWaiting, 3);
  assert.equal(record.QueueActive, 2);
  assert.equal(record.QueueBacklog, 5);
  assert.equal(record.QueueName, queueName);
  assert.equal(record._aws.CloudWatchMetrics[0].Namespace, 'Test/Captioner');
});
