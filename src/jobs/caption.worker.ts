/**
 * The BullMQ consumer (worker process only). Concurrency = BATCH_MAX_SIZE and every job goes through the
 * CaptionBatcher, so jobs taken together form one batch. Created with autorun off: the worker module
 * starts it after the model is loaded and warm. close() waits for the active jobs (graceful shutdown).
 */
import { Logger } from '@nestjs/common';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { CAPTION_JOB, type CaptionJobData, type CaptionJobResult } from './caption-job.types';
import type { CaptionJobHandler } from './caption-job.processor';
import { describeInternal, encodeFailure, failureOf, isPermanent } from './job.errors';

export interface CaptionWorkerOptions {
  url: string;
  queueName: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Called with 'completed' | 'failed' | 'retried' | 'stalled'. */
  observe?: (outcome: string) => void;
}

export class CaptionWorker {
  private readonly logger = new Logger(CaptionWorker.name);
  private lastWarn = 0;
  private worker?: Worker<CaptionJobData, CaptionJobResult>;
  private running?: Promise<void>;

  constructor(
    private readonly processor: CaptionJobHandler,
    private readonly options: CaptionWorkerOptions,
  ) {}

  /** Starts consuming; resolves once the worker's Redis connection is ready. */
  async start(): Promise<void> {
    const o = this.options;
    const worker = new Worker<CaptionJobData, CaptionJobResult>(o.queueName, (job) => this.handle(job), {
      connection: { url: o.url, retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000) },
      autorun: false,
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      maxStalledCount: 1,
    });
    this.worker = worker;
    worker.on('error', (err) => this.warnThrottled(`worker: ${err.message}`));
    worker.on('stalled', (jobId) => {
      this.logger.warn(`job ${jobId} stalled: a worker lost it; it is retried`);
      o.observe?.('stalled');
    });
    worker.on('completed', (job) => {
      o.observe?.('completed');
      void this.dropImage(job);
    });
    worker.on('failed', (job, err) => {
      if (job === undefined) return;
      void job.getState().then(
        (state) => {
          const final = state === 'failed';
          o.observe?.(final ? 'failed' : 'retried');
          this.logger.warn(`job ${job.id} ${final ? 'failed' : 'will be retried'}: ${err.message}`);
          if (final) void this.dropImage(job);
        },
        () => undefined,
      );
    });
    this.running = worker.run().catch((err: unknown) => this.logger.error(`worker stopped: ${String(err)}`));
    await worker.waitUntilReady();
    this.logger.log(`consuming queue ${o.queueName} with concurrency ${o.concurrency}`);
  }

  /** Stops taking jobs and waits for the active ones to finish. */
  async close(): Promise<void> {
    if (this.worker === undefined) return;
    await this.worker.close();
    await this.running;
    this.worker = undefined;
  }

  private async handle(job: Job<CaptionJobData, CaptionJobResult>): Promise<CaptionJobResult> {
    if (job.name !== CAPTION_JOB) throw new UnrecoverableError(`job.unknown: no processor for ${job.name}`);
    try {
      return await this.processor.process(job.data);
    } catch (err) {
      const failure = failureOf(err, (id, cause) =>
        this.logger.error(`job ${job.id}: ${describeInternal(id, cause)}`),
      );
      throw isPermanent(failure)
        ? new UnrecoverableError(encodeFailure(failure))
        : new Error(encodeFailure(failure));
    }
  }

  /** Connection errors repeat every reconnect attempt during an outage: one line per 5 s is enough. */
  private warnThrottled(message: string): void {
    const now = Date.now();
    if (now - this.lastWarn < 5000) return;
    this.lastWarn = now;
    this.logger.warn(message);
  }

  /**
   * A finished job stays retained (JOB_RETENTION_*) for status reads, but it no longer needs its
   * ~590 KB image: drop it so retention costs a few hundred bytes per job.
   */
  private async dropImage(job: Job<CaptionJobData, CaptionJobResult>): Promise<void> {
    try {
      await job.updateData({ ...job.data, rgb: '' });
    } catch {
      // already removed by retention: nothing to drop
    }
  }
}
