/**
 * jobs: the job queue port (JOB_QUEUE) with its BullMQ adapter (queue mode: the API only produces and
 * waits) and its in-process adapter (embedded mode: the model runs here, through the batcher), the
 * typed job map, and the pieces the worker process assembles (CaptionJobProcessor, CaptionWorker).
 */
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module';
import { CacheSettings } from '../cache/cache.settings';
import { CAPTION_CACHE, type CaptionCache } from '../cache/caption-cache.port';
import { provideSettings } from '../config/provide-settings';
import { RedisSettings } from '../config/redis.settings';
import { MetricsService } from '../metrics/metrics.service';
import { CaptionBatcher } from '../model/caption-batcher';
import { CAPTION_MODEL, type CaptionModel } from '../model/caption-model.port';
import { ModelModule } from '../model/model.module';
import { BullMqJobQueue } from './bullmq-job-queue.adapter';
import { CaptionJobProcessor } from './caption-job.processor';
import { InProcessJobQueue } from './in-process-job-queue.adapter';
import { JobSettings } from './job.settings';
import { JOB_QUEUE } from './job-queue.port';

const optionalMetrics = { token: MetricsService, optional: true } as const;

/** The processor where inference runs (worker, embedded API); also feeds the batch metrics. */
export const captionJobProcessorProvider: Provider = {
  provide: CaptionJobProcessor,
  inject: [CAPTION_MODEL, CaptionBatcher, CAPTION_CACHE, CacheSettings, optionalMetrics],
  useFactory: (
    model: CaptionModel,
    batcher: CaptionBatcher,
    cache: CaptionCache,
    settings: CacheSettings,
    metrics?: MetricsService,
  ): CaptionJobProcessor => {
    if (metrics !== undefined) {
      batcher.observe((size, seconds) => {
        metrics.batchSize.observe(size);
        metrics.inferenceSeconds.observe(seconds);
      });
    }
    return new CaptionJobProcessor(model, batcher, cache, settings.CACHE_TTL_SECONDS);
  },
};

export function bullMqQueueProvider(listen: boolean): Provider {
  return {
    provide: JOB_QUEUE,
    inject: [RedisSettings, JobSettings],
    useFactory: (redis: RedisSettings, jobs: JobSettings): BullMqJobQueue => {
      if (redis.REDIS_URL === undefined) throw new Error('BullMqJobQueue needs REDIS_URL');
      return new BullMqJobQueue({
        url: redis.REDIS_URL,
        queueName: redis.QUEUE_NAME,
        attempts: jobs.JOB_ATTEMPTS,
        retentionCount: jobs.JOB_RETENTION_COUNT,
        retentionSeconds: jobs.JOB_RETENTION_SECONDS,
        batchSize: jobs.BATCH_MAX_SIZE,
        listen,
      });
    },
  };
}

@Module({})
export class JobsModule {
  /** The API's JOB_QUEUE: BullMQ when REDIS_URL is set, otherwise in-process with the model loaded here. */
  static forApi(queueMode: boolean): DynamicModule {
    const settings = [provideSettings(JobSettings), provideSettings(RedisSettings)];
    if (queueMode) {
      return {
        module: JobsModule,
        providers: [...settings, bullMqQueueProvider(true)],
        exports: [JOB_QUEUE, JobSettings],
      };
    }
    return {
      module: JobsModule,
      imports: [ModelModule, CacheModule],
      providers: [
        ...settings,
        captionJobProcessorProvider,
        {
          provide: JOB_QUEUE,
          inject: [CaptionJobProcessor, CAPTION_MODEL, JobSettings, optionalMetrics],
          useFactory: (
            processor: CaptionJobProcessor,
            model: CaptionModel,
            jobs: JobSettings,
            metrics?: MetricsService,
          ) =>
            new InProcessJobQueue(processor, () => (model.isReady() ? model.info() : undefined), {
              attempts: jobs.JOB_ATTEMPTS,
              retentionCount: jobs.JOB_RETENTION_COUNT,
              retentionSeconds: jobs.JOB_RETENTION_SECONDS,
              batchSize: jobs.BATCH_MAX_SIZE,
              observe: metrics === undefined ? undefined : (outcome) => metrics.jobs.inc({ outcome }),
            }),
        },
      ],
      exports: [JOB_QUEUE, JobSettings],
    };
  }
}
