/**
 * The caption queue's consumer (worker process only): a @nestjs/bullmq @Processor (WorkerHost) that
 * dispatches each job by name through JobHandlers (the typed job map). Created with autorun off: the
 * worker starts it (start()) once the model is loaded and warm. Concurrency = BATCH_MAX_SIZE and every
 * caption goes through the CaptionBatcher, so jobs taken together form one batch. close() waits for the
 * active jobs (graceful shutdown). The queue's name and lock settings are settings, so the decorated class
 * is made when JobsModule is defined (captionQueueProcessor).
 */
import { Inject, Injectable, Logger, Optional, type Type } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { UnrecoverableError, type Job } from 'bullmq';
import { MetricsService } from '../metrics/metrics.service';
import { JobHandlers, type JobName } from './job-map';
import { JOB_QUEUE, type JobQueue } from './job-queue.port';
import { describeInternal, encodeFailure, failureOf, isPermanent } from './job.errors';

export interface CaptionQueueProcessorOptions {
  queueName: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
}

/** Webhook deliveries wait on receivers, not on the model: many at once, each bounded by its timeout. */
export const WEBHOOK_CONCURRENCY = 16;

@Injectable()
export abstract class CaptionQueueConsumer extends WorkerHost {
  private readonly logger = new Logger('CaptionQueueProcessor');
  private lastWarn = 0;
  private running?: Promise<void>;
  /** Caption jobs tell their webhook subscribers when they start and finish; deliveries do not. */
  protected readonly notifies: boolean = false;

  constructor(
    @Inject(JobHandlers) private readonly handlers: JobHandlers,
    @Optional() @Inject(MetricsService) private readonly metrics?: MetricsService,
    @Optional() @Inject(JOB_QUEUE) private readonly queue?: JobQueue,
  ) {
    super();
  }

  /** Starts consuming; resolves once the worker's Redis connection is ready. */
  async start(): Promise<void> {
    this.running = this.worker
      .run()
      .catch((err: unknown) => this.logger.error(`worker stopped: ${String(err)}`));
    await this.worker.waitUntilReady();
    this.logger.log(`consuming queue ${this.worker.name} with concurrency ${this.worker.concurrency}`);
  }

  /** Stops taking jobs and waits for the active ones to finish. */
  async close(): Promise<void> {
    await this.worker.close();
    await this.running;
  }

  async process(job: Job): Promise<unknown> {
    if (!this.handlers.has(job.name)) {
      throw new UnrecoverableError(`job.unknown: no handler for job "${job.name}"`);
    }
    try {
      return await this.handlers.run(job.name as JobName, job.data as never, {
        id: job.id ?? '',
        attempt: job.attemptsMade + 1,
      });
    } catch (err) {
      const failure = failureOf(err, (id, cause) =>
        this.logger.error(`job ${job.id}: ${describeInternal(id, cause)}`),
      );
      throw isPermanent(failure)
        ? new UnrecoverableError(encodeFailure(failure))
        : new Error(encodeFailure(failure));
    }
  }

  @OnWorkerEvent('active')
  onActive(job: Job): void {
    this.notify(job, 'started');
  }

  @OnWorkerEvent('completed')
  onCompleted(job: Job): void {
    if (this.notifies) this.metrics?.jobs.inc({ outcome: 'completed' });
    this.notify(job, 'completed');
    void this.dropImage(job);
  }

  private notify(job: Job, event: 'started' | 'completed'): void {
    if (!this.notifies || job.id === undefined) return;
    this.queue?.notifySubscribers(job.id, event).catch((err: unknown) => {
      this.logger.warn(`job ${job.id}: could not schedule its ${event} webhooks: ${String(err)}`);
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error): void {
    if (job === undefined) return;
    void job.getState().then(
      (state) => {
        const final = state === 'failed';
        if (this.notifies) this.metrics?.jobs.inc({ outcome: final ? 'failed' : 'retried' });
        this.logger.warn(`job ${job.id} ${final ? 'failed' : 'will be retried'}: ${err.message}`);
        if (final) {
          this.notify(job, 'completed');
          void this.dropImage(job);
        }
      },
      () => undefined,
    );
  }

  @OnWorkerEvent('stalled')
  onStalled(jobId: string): void {
    this.logger.warn(`job ${jobId} stalled: a worker lost it; it is retried`);
    if (this.notifies) this.metrics?.jobs.inc({ outcome: 'stalled' });
  }

  /** Connection errors repeat every reconnect attempt during an outage: one line per 5 s is enough. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    const now = Date.now();
    if (now - this.lastWarn < 5000) return;
    this.lastWarn = now;
    this.logger.warn(`worker: ${err.message}`);
  }

  /**
   * A finished job stays retained (JOB_RETENTION_*) for status reads, but it no longer needs its
   * ~590 KB image: drop it so retention costs a few hundred bytes per job.
   */
  private async dropImage(job: Job): Promise<void> {
    const data = job.data as { rgb?: string };
    if (typeof data.rgb !== 'string' || data.rgb === '') return;
    try {
      await job.updateData({ ...data, rgb: '' });
    } catch {
      // already removed by retention: nothing to drop
    }
  }
}

/** The @Processor class for the caption queue named in `o` (autorun off: started after warm-up). */
export function captionQueueProcessor(o: CaptionQueueProcessorOptions): Type<CaptionQueueConsumer> {
  @Processor(o.queueName, {
    autorun: false,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.stalledIntervalMs,
    maxStalledCount: 1,
  })
  class CaptionQueueProcessor extends CaptionQueueConsumer {
    protected override readonly notifies = true;
  }
  return CaptionQueueProcessor;
}

/** The @Processor class for the webhook delivery queue (`<QUEUE_NAME>-webhooks`). */
export function webhookQueueProcessor(
  queueName: string,
  lockDurationMs: number,
  stalledIntervalMs: number,
  maxAttempts: number,
): Type<CaptionQueueConsumer> {
  @Processor(queueName, {
    autorun: false,
    concurrency: WEBHOOK_CONCURRENCY,
    lockDuration: lockDurationMs,
    // As the caption consumer's: a delivery held by a killed worker is taken back as soon (not BullMQ's 30 s).
    stalledInterval: stalledIntervalMs,
    // At least once: a delivery held by killed workers is taken back as often as it may be attempted
    // (receivers de-duplicate on webhook-id); with 1, a second crash failed it for good.
    maxStalledCount: maxAttempts,
  })
  class WebhookQueueProcessor extends CaptionQueueConsumer {}
  return WebhookQueueProcessor;
}
