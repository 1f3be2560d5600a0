/**
 * The worker process: a Nest application context (no HTTP listener) that loads and warms the model,
 * consumes the BullMQ queue with dynamic batching, writes answers to the cache, and serves only its
 * health probes and metrics (startWorkerHealthServer). Wired by src/worker.ts.
 */
import { Module } from '@nestjs/common';
import { CacheModule } from './cache/cache.module';
import { LoggingModule } from './common/logging/logging.module';
import { HttpSettings } from './config/http.settings';
import { provideSettings } from './config/provide-settings';
import { RedisSettings } from './config/redis.settings';
import { HealthModule } from './health/health.module';
import { bullMqQueueProvider, captionJobProcessorProvider } from './jobs/jobs.module';
import { CaptionJobProcessor } from './jobs/caption-job.processor';
import { CaptionWorker } from './jobs/caption.worker';
import { JobSettings } from './jobs/job.settings';
import { ModelAnnouncer } from './jobs/model-announcer';
import { MetricsModule } from './metrics/metrics.module';
import { MetricsService } from './metrics/metrics.service';
import { CloudWatchEmfSettings } from './metrics/cloudwatch-emf.settings';
import { QueueBacklogEmfService } from './metrics/queue-backlog-emf.service';
import { JOB_QUEUE, type JobQueueHealth } from './jobs/job-queue.port';
import { ModelModule } from './model/model.module';

@Module({
  imports: [LoggingModule.forRoot(), MetricsModule, HealthModule, ModelModule, CacheModule],
  providers: [
    provideSettings(HttpSettings),
    provideSettings(RedisSettings),
    provideSettings(JobSettings),
    captionJobProcessorProvider,
    // The queue's view for health (ping) and metrics (depth); the worker does not wait on jobs.
    bullMqQueueProvider(false),
    {
      provide: CaptionWorker,
      inject: [CaptionJobProcessor, RedisSettings, JobSettings, { token: MetricsService, optional: true }],
      useFactory: (
        processor: CaptionJobProcessor,
        redis: RedisSettings,
        jobs: JobSettings,
        metrics?: MetricsService,
      ) => {
        if (redis.REDIS_URL === undefined) throw new Error('The worker needs REDIS_URL (the queue).');
        return new CaptionWorker(processor, {
          url: redis.REDIS_URL,
          queueName: redis.QUEUE_NAME,
          concurrency: jobs.BATCH_MAX_SIZE,
          lockDurationMs: jobs.JOB_LOCK_DURATION_MS,
          stalledIntervalMs: jobs.JOB_STALLED_INTERVAL_MS,
          observe: metrics === undefined ? undefined : (outcome) => metrics.jobs.inc({ outcome }),
        });
      },
    },
    provideSettings(CloudWatchEmfSettings),
    {
      provide: QueueBacklogEmfService,
      inject: [JOB_QUEUE, CloudWatchEmfSettings, RedisSettings],
      useFactory: (queue: JobQueueHealth, settings: CloudWatchEmfSettings, redis: RedisSettings) =>
        new QueueBacklogEmfService(queue, { settings, queueName: redis.QUEUE_NAME }),
    },
    {
      provide: ModelAnnouncer,
      inject: [RedisSettings],
      useFactory: (redis: RedisSettings) => new ModelAnnouncer(redis.REDIS_URL ?? '', redis.QUEUE_NAME),
    },
  ],
})
export class WorkerModule {}
