/**
 * The worker process: a Nest application context (no HTTP listener) that loads and warms the model,
 * consumes the BullMQ queue with dynamic batching (JobsModule.forWorker), writes answers to the cache,
 * delivers webhooks, publishes the queue backlog as CloudWatch EMF lines when asked, and serves only its
 * health probes and metrics (startWorkerHealthServer). Wired by src/worker.ts.
 */
import { Module } from '@nestjs/common';
import { CacheModule } from './cache/cache.module';
import { LoggingModule } from './common/logging/logging.module';
import { PlatformConfigModule } from './config/platform-config.module';
import { provideSettings } from './config/provide-settings';
import { RedisSettings } from './config/redis.settings';
import { HealthModule } from './health/health.module';
import { JOB_QUEUE, type JobQueueHealth } from './jobs/job-queue.port';
import { JobsModule } from './jobs/jobs.module';
import { CloudWatchEmfSettings } from './metrics/cloudwatch-emf.settings';
import { MetricsModule } from './metrics/metrics.module';
import { QueueBacklogEmfService } from './metrics/queue-backlog-emf.service';
import { ModelModule } from './model/model.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [
    PlatformConfigModule,
    LoggingModule.forRoot(),
    MetricsModule,
    HealthModule,
    ModelModule,
    CacheModule,
    WebhooksModule,
    JobsModule.forWorker(),
  ],
  providers: [
    provideSettings(CloudWatchEmfSettings),
    {
      provide: QueueBacklogEmfService,
      inject: [JOB_QUEUE, CloudWatchEmfSettings, RedisSettings],
      useFactory: (queue: JobQueueHealth, settings: CloudWatchEmfSettings, redis: RedisSettings) =>
        new QueueBacklogEmfService(queue, { settings, queueName: redis.QUEUE_NAME }),
    },
  ],
})
export class WorkerModule {}
