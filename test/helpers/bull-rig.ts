/**
 * Queue mode assembled as the processes do it (JobsModule.forApi and forWorker on @nestjs/bullmq), in
 * this process: an API-side context (producer, queue events, waiting) and a worker-side context (the
 * @Processor) running the given caption handler instead of the model.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { RedisSettings } from '../../src/config/redis.settings';
import type { BullMqJobQueue } from '../../src/jobs/bullmq-job-queue.adapter';
import type { CaptionJobHandler } from '../../src/jobs/caption-job.processor';
import { memoryCaptionCache } from './caption-caches';
import { CAPTION_JOB, JobHandlers, WEBHOOK_JOB } from '../../src/jobs/job-map';
import type { WebhookSender } from '../../src/webhooks/webhook-sender.port';
import { JobSettings } from '../../src/jobs/job.settings';
import { JOB_QUEUE, type JobQueue } from '../../src/jobs/job-queue.port';
import { JobsModule, webhookHandler } from '../../src/jobs/jobs.module';
import { QueueConsumers } from '../../src/jobs/queue-consumers';

export interface BullRigOptions {
  url: string;
  queueName?: string;
  jobs?: Partial<JobSettings>;
  startWorker?: boolean;
  /** The webhook sender the worker uses (a fake receiver); without it deliveries are refused. */
  sender?: WebhookSender;
}

export interface BullRig {
  queue: BullMqJobQueue;
  consumers: QueueConsumers;
  queueName: string;
  api: INestApplicationContext;
  worker: INestApplicationContext;
  /** A plain BullMQ Queue on the same queue, to inspect it. */
  inspect(): Queue;
  close(): Promise<void>;
}

export async function bullRig(handler: CaptionJobHandler, o: BullRigOptions): Promise<BullRig> {
  const queueName = o.queueName ?? `test-${randomUUID()}`;
  const redis = Object.assign(new RedisSettings(), { REDIS_URL: o.url, QUEUE_NAME: queueName });
  const jobs = Object.assign(
    new JobSettings(),
    {
      JOB_ATTEMPTS: 3,
      JOB_RETENTION_COUNT: 100,
      JOB_RETENTION_SECONDS: 300,
      BATCH_MAX_SIZE: 4,
      JOB_LOCK_DURATION_MS: 5000,
      JOB_STALLED_INTERVAL_MS: 2000,
    },
    o.jobs,
  );

  @Module({ imports: [JobsModule.forApi(redis, jobs)] })
  class ApiSide {}
  @Module({
    imports: [
      JobsModule.forWorker(redis, jobs, {
        imports: [],
        providers: [
          {
            provide: JobHandlers,
            inject: [JOB_QUEUE],
            useFactory: (queue: JobQueue) => {
              const webhooks = webhookHandler(queue, memoryCaptionCache(100).cache, jobs, o.sender);
              return new JobHandlers({
                [CAPTION_JOB]: (data) => handler.process(data),
                [WEBHOOK_JOB]: (data, context) => webhooks.deliver(data, context),
              });
            },
          },
        ],
      }),
    ],
  })
  class WorkerSide {}

  const api = await NestFactory.createApplicationContext(ApiSide, { logger: false, abortOnError: false });
  const worker = await NestFactory.createApplicationContext(WorkerSide, {
    logger: false,
    abortOnError: false,
  });
  const consumers = worker.get(QueueConsumers);
  if (o.startWorker !== false) await consumers.start();
  const inspectors: Queue[] = [];
  return {
    queue: api.get<BullMqJobQueue>(JOB_QUEUE),
    consumers,
    queueName,
    api,
    worker,
    inspect: () => {
      const q = new Queue(queueName, { connection: { url: o.url } });
      inspectors.push(q);
      return q;
    },
    close: async () => {
      await consumers.close().catch(() => undefined);
      await worker.close();
      await api.close();
      const qs = [queueName, `${queueName}-webhooks`].map(
        (n) => new Queue(n, { connection: { url: o.url } }),
      );
      for (const q of qs) await q.obliterate({ force: true }).catch(() => undefined);
      await Promise.all([...qs, ...inspectors].map((i) => i.close().catch(() => undefined)));
    },
  };
}

/** The API's producer (JobsModule.forApi) from the given settings, as the API process builds it. */
export async function apiProducer(
  redis: RedisSettings,
  jobs: JobSettings,
): Promise<{ queue: BullMqJobQueue; close(): Promise<void> }> {
  @Module({ imports: [JobsModule.forApi(redis, jobs)] })
  class ApiSide {}
  const api = await NestFactory.createApplicationContext(ApiSide, { logger: false, abortOnError: false });
  return { queue: api.get<BullMqJobQueue>(JOB_QUEUE), close: () => api.close() };
}
