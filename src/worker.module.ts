/**
 * The worker process: a Nest application context (no HTTP listener) that loads and warms the model,
 * consumes the BullMQ queue with dynamic batching (JobsModule.forWorker), writes answers to the cache,
 * and serves only its health probes and metrics (startWorkerHealthServer). Wired by src/worker.ts.
 */
import { Module } from '@nestjs/common';
import { CacheModule } from './cache/cache.module';
import { LoggingModule } from './common/logging/logging.module';
import { PlatformConfigModule } from './config/platform-config.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { MetricsModule } from './metrics/metrics.module';
import { ModelModule } from './model/model.module';

@Module({
  imports: [
    PlatformConfigModule,
    LoggingModule.forRoot(),
    MetricsModule,
    HealthModule,
    ModelModule,
    CacheModule,
    JobsModule.forWorker(),
  ],
})
export class WorkerModule {}
