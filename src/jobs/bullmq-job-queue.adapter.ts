/**
 * Queue mode's job queue (API side): a BullMQ Queue to add jobs and read them, QueueEvents to wake
 * waiters. Fails fast when Redis is down: the producer connection has no offline queue and one retry,
 * so an enqueue while Redis is unreachable is a 503 within milliseconds, never a hang. Public job ids
 * (random UUIDs) map to {internal id, subject} records kept in Redis with the retention TTL.
 */
import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { ModelInfo } from '../model/caption-model.port';
import {
  CAPTION_JOB,
  internalJobId,
  type CaptionJobData,
  type CaptionJobResult,
  type JobState,
} from './caption-job.types';
import { decodeFailure, queueUnavailable } from './job.errors';
import type { EnqueuedJob, JobQueue, QueueCounts } from './job-queue.port';
import { failFastRedisOptions, modelInfoKey, OP_TIMEOUT_MS } from './redis-options';

export interface BullMqQueueOptions {
  url: string;
  queueName: string;
  attempts: number;
  retentionCount: number;
  retentionSeconds: number;
  batchSize: number;
  /** First retry delay, doubled per attempt. */
  backoffMs?: number;
  /** Listen to queue events (for waiting); off where nothing waits, e.g. the worker's health view. */
  listen?: boolean;
}

/** Safety net under QueueEvents: a waiter also re-reads its job this often (events can be missed). */
const POLL_MS = 1000;
const MODEL_INFO_TTL_MS = 5000;

type CaptionQueue = Queue<CaptionJobData, CaptionJobResult>;

export function jobOptions(
  o: Pick<BullMqQueueOptions, 'attempts' | 'retentionCount' | 'retentionSeconds'>,
): JobsOptions {
  return {
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { count: o.retentionCount, age: o.retentionSeconds },
    removeOnFail: { count: o.retentionCount, age: o.retentionSeconds },
  };
}

export class BullMqJobQueue implements JobQueue, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(BullMqJobQueue.name);
  private readonly redis: Redis;
  private readonly events?: QueueEvents;
  private queue?: CaptionQueue;
  private readonly waiters = new Map<string, Set<(state: JobState) => void>>();
  private modelCache?: { at: number; info: ModelInfo | undefined };
  private lastErrorLog = 0;
  private closing = false;

  constructor(private readonly options: BullMqQueueOptions) {
    this.redis = new Redis(options.url, failFastRedisOptions());
    this.redis.on('error', (err: Error) => this.logError('producer connection', err));
    if (options.listen !== false) this.events = this.listen();
  }

  onModuleInit(): void {
    this.events?.run().catch((err: unknown) => this.logError('queue events loop', err));
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([this.queue?.close(), this.events?.close()]);
    this.redis.disconnect();
  }

  async enqueue(data: CaptionJobData): Promise<EnqueuedJob> {
    const queue = await this.producer();
    const internalId = internalJobId(data.cacheKey, data.fresh);
    try {
      // A retained failed job with this id would be "joined" and fail again at once: run it again
      // instead (retry is atomic, so two replicas doing this at once start it once).
      if ((await queue.getJobState(internalId)) === 'failed') {
        const failed = await queue.getJob(internalId);
        if (failed !== undefined) {
          await failed.updateData(data); // its image was dropped when it failed
          await failed
            .retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
            .catch(() => undefined);
        }
      }
      await queue.add(CAPTION_JOB, data, { ...jobOptions(this.options), jobId: internalId });
      return { internalId };
    } catch (err) {
      this.logError('enqueue', err);
      throw queueUnavailable();
    }
  }

  async claim(job: EnqueuedJob, subject: string, cacheKey: string): Promise<string> {
    const jobId = randomUUID();
    const record = JSON.stringify({ id: job.internalId, sub: subject, key: cacheKey });
    try {
      await this.redis.set(this.ownerKey(jobId), record, 'EX', this.options.retentionSeconds);
    } catch (err) {
      this.logError('claim', err);
      throw queueUnavailable();
    }
    return jobId;
  }

  waitForResult(job: EnqueuedJob, timeoutMs: number): Promise<JobState> {
    return new Promise<JobState>((resolve) => {
      let settled = false;
      const finish = (state: JobState): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        const set = this.waiters.get(job.internalId);
        set?.delete(finish);
        if (set?.size === 0) this.waiters.delete(job.internalId);
        resolve(state);
      };
      const check = (): void => {
        this.read(job.internalId).then(
          (state) => state.status !== 'processing' && state.status !== 'gone' && finish(state),
          () => undefined,
        );
      };
      const set = this.waiters.get(job.internalId) ?? new Set();
      set.add(finish);
      this.waiters.set(job.internalId, set);
      const timer = setTimeout(() => finish({ status: 'processing' }), timeoutMs);
      const poll = setInterval(check, POLL_MS);
      check(); // it may have finished before we listened
    });
  }

  async status(jobId: string, subject: string): Promise<JobState | undefined> {
    let raw: string | null;
    try {
      raw = await this.redis.get(this.ownerKey(jobId));
    } catch (err) {
      this.logError('status', err);
      throw queueUnavailable();
    }
    const owner = raw === null ? undefined : (safeParse(raw) as { id?: string; sub?: string; key?: string });
    if (owner?.id === undefined || owner.sub !== subject) return undefined;
    const state = await this.read(owner.id).catch(() => {
      throw queueUnavailable();
    });
    return state.status === 'gone' ? { status: 'gone', cacheKey: owner.key ?? '' } : state;
  }

  async model(): Promise<ModelInfo | undefined> {
    const cached = this.modelCache;
    if (cached !== undefined && Date.now() - cached.at < MODEL_INFO_TTL_MS) return cached.info;
    try {
      const raw = await this.redis.get(modelInfoKey(this.options.queueName));
      const info = raw === null ? undefined : (safeParse(raw) as ModelInfo | undefined);
      this.modelCache = { at: Date.now(), info };
      return info;
    } catch {
      return cached?.info; // keep the last known model through a Redis blip
    }
  }

  async estimateSeconds(): Promise<number> {
    try {
      const c = await this.counts();
      return Math.max(1, Math.ceil((c.waiting + c.active + 1) / this.options.batchSize));
    } catch {
      return 1;
    }
  }

  available(): boolean {
    return !this.closing && this.redis.status === 'ready';
  }

  async ping(): Promise<void> {
    if (this.redis.status !== 'ready') throw new Error(`queue Redis is ${this.redis.status}`);
    await this.redis.ping();
  }

  async counts(): Promise<QueueCounts> {
    const queue = await this.producer();
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  private listen(): QueueEvents {
    // QueueEvents blocks on XREAD: its own connection, which BullMQ gives maxRetriesPerRequest null.
    const events = new QueueEvents(this.options.queueName, {
      connection: {
        url: this.options.url,
        retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000),
      },
      autorun: false,
    });
    events.on('error', (err: Error) => this.logError('queue events', err));
    events.on('completed', ({ jobId, returnvalue }) => {
      const result = typeof returnvalue === 'string' ? safeParse(returnvalue) : returnvalue;
      if (isResult(result)) this.wake(jobId, { status: 'success', result });
      else void this.refresh(jobId);
    });
    // 'failed' also fires for attempts that will be retried: re-read the job to know if it is final.
    events.on('failed', ({ jobId }) => void this.refresh(jobId));
    return events;
  }

  /** The Queue, created once Redis is ready (created earlier, its one-time init would fail for good). */
  private async producer(): Promise<CaptionQueue> {
    if (this.closing || this.redis.status !== 'ready') throw queueUnavailable();
    if (this.queue === undefined) {
      this.queue = new Queue<CaptionJobData, CaptionJobResult>(this.options.queueName, {
        connection: this.redis,
        skipWaitingForReady: true,
      });
      this.queue.on('error', (err: Error) => this.logError('queue', err));
    }
    try {
      await withDeadline(this.queue.waitUntilReady(), OP_TIMEOUT_MS);
      return this.queue;
    } catch (err) {
      this.logError('queue init', err);
      const broken = this.queue;
      this.queue = undefined;
      void broken?.close().catch(() => undefined);
      throw queueUnavailable();
    }
  }

  private async read(internalId: string): Promise<JobState> {
    const queue = await this.producer();
    // State first: a finished job's fields are final, while a job read before its state could have
    // finished in between (then it would look failed without its reason).
    const state = await queue.getJobState(internalId);
    if (state === 'unknown') return { status: 'gone', cacheKey: '' };
    if (state !== 'completed' && state !== 'failed') return { status: 'processing' };
    const job = (await Job.fromId(queue, internalId)) as Job<CaptionJobData, CaptionJobResult> | undefined;
    if (job === undefined) return { status: 'gone', cacheKey: '' };
    if (state === 'completed' && isResult(job.returnvalue))
      return { status: 'success', result: job.returnvalue };
    if (state === 'failed') return { status: 'failed', error: decodeFailure(job.failedReason) };
    return { status: 'processing' };
  }

  private async refresh(internalId: string): Promise<void> {
    if (!this.waiters.has(internalId)) return;
    try {
      const state = await this.read(internalId);
      if (state.status === 'success' || state.status === 'failed') this.wake(internalId, state);
    } catch {
      // the waiters' own polling takes over
    }
  }

  private wake(internalId: string, state: JobState): void {
    for (const finish of [...(this.waiters.get(internalId) ?? [])]) finish(state);
  }

  private ownerKey(jobId: string): string {
    return `captioner:${this.options.queueName}:job:${jobId}`;
  }

  private logError(what: string, err: unknown): void {
    if (this.closing) return;
    const now = Date.now();
    if (now - this.lastErrorLog < 5000) return;
    this.lastErrorLog = now;
    this.logger.warn(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isResult(value: unknown): value is CaptionJobResult {
  return typeof value === 'object' && value !== null && Array.isArray((value as CaptionJobResult).captions);
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
