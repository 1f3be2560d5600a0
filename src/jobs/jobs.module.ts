/**
 * jobs: the job queue port (JOB_QUEUE) on @nestjs/bullmq in queue mode (the API produces and waits, the
 * worker consumes) and in-process in embedded mode (the model runs in the API, through the batcher); the
 * typed job map with one handler per job name (JobHandlers); the served model (SERVED_MODEL: announced by
 * workers, or the local model); measured batch timings for estimates.
 *
 * forApi(): queue mode when REDIS_URL is set. forWorker(): the worker's consumer, started by the worker
 * entry point after warm-up (QueueConsumers). Both read their settings when the module is defined: the
 * queue's name is part of the @Processor / @QueueEventsListener metadata.
 */
import {
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { CacheModule } from '../cache/cache.module';
import { CacheSettings } from '../cache/cache.settings';
import { CAPTION_CACHE, type CaptionCache } from '../cache/caption-cache.port';
import { loadSettings } from '../config/load-settings';
import { RedisSettings } from '../config/redis.settings';
import { MetricsService } from '../metrics/metrics.service';
import { CaptionBatcher } from '../model/caption-batcher';
import { CAPTION_MODEL, type CaptionModel } from '../model/caption-model.port';
import { ModelModule } from '../model/model.module';
import { AnnouncedModel } from './announced-model.adapter';
import { BatchTimings } from './batch-timings';
import { BULLMQ_QUEUE_OPTIONS, BullMqJobQueue, type BullMqQueueOptions } from './bullmq-job-queue.adapter';
import { CaptionJobProcessor } from './caption-job.processor';
import { captionQueueEventsListener } from './caption-queue-events.listener';
import { captionQueueProcessor, webhookQueueProcessor } from './caption-queue.processor';
import { InProcessJobQueue } from './in-process-job-queue.adapter';
import { JobEvents } from './job-events';
import { buildJobDocument } from './job-document';
import { CAPTION_JOB, JobHandlers, WEBHOOK_JOB } from './job-map';
import { JobSettings } from './job.settings';
import { JOB_QUEUE, type JobQueue } from './job-queue.port';
import { LocalModel } from './local-model.adapter';
import { ModelAnnouncer } from './model-announcer';
import { QueueConsumers } from './queue-consumers';
import {
  BullMqConnections,
  bullRootOptions,
  CAPTION_QUEUE,
  producerQueueOptions,
  WEBHOOK_QUEUE,
  webhookProducerOptions,
  webhookQueueName,
} from './queues';
import { WebhookDeliveryHandler } from './webhook-delivery.handler';
import { WEBHOOK_SENDER, type WebhookSender } from '../webhooks/webhook-sender.port';
import { SERVED_MODEL } from './served-model.port';

const optionalMetrics = { token: MetricsService, optional: true } as const;
/**
 * The signed sender comes from the webhooks module (WebhooksModule provides WEBHOOK_SENDER and
 * WEBHOOK_URL_CHECK). Without one, deliveries fail as refused and submissions with a webhook are 400.
 */
const optionalSender = { token: WEBHOOK_SENDER, optional: true } as const;

const noSender: WebhookSender = {
  send: () =>
    Promise.resolve({ delivered: false, retryable: false, reason: 'no webhook sender is configured' }),
};

/** The delivery handler over a job queue (the body is the owner's job document, read when sending). */
export function webhookHandler(
  queue: JobQueue,
  cache: CaptionCache,
  jobs: JobSettings,
  sender?: WebhookSender,
  metrics?: MetricsService,
): WebhookDeliveryHandler {
  return new WebhookDeliveryHandler({
    sender: sender ?? noSender,
    view: (jobId, subject) => queue.status(jobId, subject),
    document: (jobId, view) =>
      buildJobDocument(jobId, view, {
        cached: (key) => cache.get(key),
        estimate: (position) => queue.estimateSeconds(position),
      }),
    record: (jobId, status) => queue.recordWebhook(jobId, status),
    maxAttempts: jobs.WEBHOOK_MAX_ATTEMPTS,
    observe: metrics === undefined ? undefined : (outcome) => metrics.webhooks.inc({ outcome }),
  });
}

/**
 * The validated settings this module was defined with, for BullModule's async factories too, and the
 * cluster clients those factories create (closed by JobsModule, see BullMqConnectionsCloser).
 */
@Module({})
class JobSettingsModule {
  static with(redis: RedisSettings, jobs: JobSettings): DynamicModule {
    return {
      module: JobSettingsModule,
      providers: [
        { provide: RedisSettings, useValue: redis },
        { provide: JobSettings, useValue: jobs },
        { provide: BullMqConnections, useValue: new BullMqConnections(redis) },
      ],
      exports: [RedisSettings, JobSettings, BullMqConnections],
    };
  }
}

/**
 * Closes the cluster clients given to BullMQ. Nest runs shutdown hooks from the deepest module up, so
 * here (JobsModule, above the BullMQ modules) they close after the queues and workers that share them.
 */
@Injectable()
class BullMqConnectionsCloser implements OnApplicationShutdown {
  constructor(private readonly connections: BullMqConnections) {}

  onApplicationShutdown(): Promise<void> {
    return this.connections.closeAll();
  }
}

/** The processor where inference runs (worker, embedded API); feeds batch metrics and timings. */
const captionJobProcessorProvider: Provider = {
  provide: CaptionJobProcessor,
  inject: [CAPTION_MODEL, CaptionBatcher, CAPTION_CACHE, CacheSettings, BatchTimings, optionalMetrics],
  useFactory: (
    model: CaptionModel,
    batcher: CaptionBatcher,
    cache: CaptionCache,
    settings: CacheSettings,
    timings: BatchTimings,
    metrics?: MetricsService,
  ): CaptionJobProcessor => {
    batcher.observe((size, seconds) => {
      timings.record(seconds);
      metrics?.batchSize.observe(size);
      metrics?.inferenceSeconds.observe(seconds);
    });
    return new CaptionJobProcessor(model, batcher, cache, settings.CACHE_TTL_SECONDS);
  },
};

function queueOptions(redis: RedisSettings, jobs: JobSettings): BullMqQueueOptions {
  return {
    redis,
    queueName: redis.QUEUE_NAME,
    attempts: jobs.JOB_ATTEMPTS,
    retentionCount: jobs.JOB_RETENTION_COUNT,
    retentionSeconds: jobs.JOB_RETENTION_SECONDS,
    batchSize: jobs.BATCH_MAX_SIZE,
    webhookAttempts: jobs.WEBHOOK_MAX_ATTEMPTS,
    webhookBackoffMs: jobs.WEBHOOK_BACKOFF_MS,
  };
}

/** BullMQ root connection and the caption queue (BullMQ name = QUEUE_NAME), plus the API-side adapter. */
function bullParts(settings: DynamicModule): { imports: DynamicModule[]; providers: Provider[] } {
  return {
    imports: [
      BullModule.forRootAsync({
        imports: [settings],
        inject: [RedisSettings, BullMqConnections],
        useFactory: bullRootOptions,
      }),
      BullModule.registerQueueAsync({
        name: CAPTION_QUEUE,
        imports: [settings],
        inject: [RedisSettings, BullMqConnections],
        useFactory: producerQueueOptions,
      }),
      BullModule.registerQueueAsync({
        name: WEBHOOK_QUEUE,
        imports: [settings],
        inject: [RedisSettings, BullMqConnections],
        useFactory: webhookProducerOptions,
      }),
    ],
    providers: [
      BullMqConnectionsCloser,
      {
        provide: BULLMQ_QUEUE_OPTIONS,
        inject: [RedisSettings, JobSettings],
        useFactory: queueOptions,
      },
      BullMqJobQueue,
      { provide: JOB_QUEUE, useExisting: BullMqJobQueue },
    ],
  };
}

@Module({})
export class JobsModule {
  /** The API's jobs: BullMQ producer + waiter when REDIS_URL is set, else in-process with the model here. */
  static forApi(redis = loadSettings(RedisSettings), jobs = loadSettings(JobSettings)): DynamicModule {
    const settings = JobSettingsModule.with(redis, jobs);
    if (redis.queueMode) {
      const bull = bullParts(settings);
      return {
        module: JobsModule,
        imports: [settings, ...bull.imports],
        providers: [
          ...bull.providers,
          JobEvents,
          captionQueueEventsListener(redis.QUEUE_NAME),
          {
            provide: SERVED_MODEL,
            useFactory: () => new AnnouncedModel(redis),
          },
        ],
        exports: [JOB_QUEUE, settings, SERVED_MODEL],
      };
    }
    return {
      module: JobsModule,
      imports: [settings, ModelModule, CacheModule],
      providers: [
        BatchTimings,
        captionJobProcessorProvider,
        {
          provide: JOB_QUEUE,
          inject: [
            CaptionJobProcessor,
            BatchTimings,
            JobSettings,
            CAPTION_CACHE,
            optionalSender,
            optionalMetrics,
          ],
          useFactory: (
            processor: CaptionJobProcessor,
            timings: BatchTimings,
            settings: JobSettings,
            cache: CaptionCache,
            sender?: WebhookSender,
            metrics?: MetricsService,
          ) => {
            const queue = new InProcessJobQueue(processor, timings, {
              attempts: settings.JOB_ATTEMPTS,
              retentionCount: settings.JOB_RETENTION_COUNT,
              retentionSeconds: settings.JOB_RETENTION_SECONDS,
              batchSize: settings.BATCH_MAX_SIZE,
              observe: metrics === undefined ? undefined : (outcome) => metrics.jobs.inc({ outcome }),
            });
            const handler = webhookHandler(queue, cache, settings, sender, metrics);
            queue.attachWebhooks({
              deliver: (data, context) => handler.deliver(data, context),
              maxAttempts: settings.WEBHOOK_MAX_ATTEMPTS,
              backoffMs: settings.WEBHOOK_BACKOFF_MS,
            });
            return queue;
          },
        },
        {
          provide: SERVED_MODEL,
          inject: [CAPTION_MODEL],
          useFactory: (m: CaptionModel) => new LocalModel(m),
        },
      ],
      exports: [JOB_QUEUE, settings, SERVED_MODEL],
    };
  }

  /**
   * The worker's jobs: the caption queue's @Processor (autorun off; QueueConsumers.start() after
   * warm-up), one handler per job name, the model announcer, and the queue's view for health/metrics.
   * `handlers` replaces the model-backed handler table (tests run the queue with a fake processor).
   */
  static forWorker(
    redis = loadSettings(RedisSettings),
    jobs = loadSettings(JobSettings),
    handlers?: { imports: DynamicModule['imports']; providers: Provider[] },
  ): DynamicModule {
    const settings = JobSettingsModule.with(redis, jobs);
    const bull = bullParts(settings);
    const Consumer = captionQueueProcessor({
      queueName: redis.QUEUE_NAME,
      concurrency: jobs.BATCH_MAX_SIZE,
      lockDurationMs: jobs.JOB_LOCK_DURATION_MS,
      stalledIntervalMs: jobs.JOB_STALLED_INTERVAL_MS,
    });
    const Deliveries = webhookQueueProcessor(
      webhookQueueName(redis),
      jobs.JOB_LOCK_DURATION_MS,
      jobs.JOB_STALLED_INTERVAL_MS,
      jobs.WEBHOOK_MAX_ATTEMPTS,
    );
    const table = handlers ?? {
      imports: [ModelModule, CacheModule],
      providers: [
        captionJobProcessorProvider,
        {
          provide: JobHandlers,
          inject: [
            CaptionJobProcessor,
            JOB_QUEUE,
            CAPTION_CACHE,
            JobSettings,
            optionalSender,
            optionalMetrics,
          ],
          useFactory: (
            captions: CaptionJobProcessor,
            queue: JobQueue,
            cache: CaptionCache,
            settings: JobSettings,
            sender?: WebhookSender,
            metrics?: MetricsService,
          ) => {
            const webhooks = webhookHandler(queue, cache, settings, sender, metrics);
            return new JobHandlers({
              [CAPTION_JOB]: (data) => captions.process(data),
              [WEBHOOK_JOB]: (data, context) => webhooks.deliver(data, context),
            });
          },
        },
      ],
    };
    return {
      module: JobsModule,
      imports: [settings, ...bull.imports, ...(table.imports ?? [])],
      providers: [
        ...bull.providers,
        ...table.providers,
        BatchTimings,
        Consumer,
        Deliveries,
        {
          provide: QueueConsumers,
          inject: [Consumer, Deliveries],
          useFactory: (...consumers: InstanceType<typeof Consumer>[]) => new QueueConsumers(consumers),
        },
        {
          provide: ModelAnnouncer,
          inject: [BatchTimings],
          useFactory: (timings: BatchTimings) => new ModelAnnouncer(redis, timings),
        },
      ],
      exports: [JOB_QUEUE, settings, QueueConsumers, ModelAnnouncer],
    };
  }
}
