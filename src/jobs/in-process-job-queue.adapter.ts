/**
 * Embedded mode's job queue: jobs run in this process through the CaptionJobProcessor (and so the
 * CaptionBatcher). Same contract as BullMQ: deterministic internal ids join identical jobs, random public
 * ids owned by a subject, bounded retention of results and ids, retries of transient failures, cancel
 * (a job already handed to the batcher finishes its batch; the public job reads canceled).
 */
import { randomUUID } from 'node:crypto';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { LRUCache } from 'lru-cache';
import { type BatchTimings, estimateSeconds } from './batch-timings';
import { internalJobId, type CaptionJobData, type JobState, type JobView } from './caption-job.types';
import type { CaptionJobHandler } from './caption-job.processor';
import { describeInternal, failureOf, isPermanent, queueUnavailable } from './job.errors';
import type { CancelOutcome, EnqueuedJob, JobQueue, QueueCounts } from './job-queue.port';
import type { WebhookEvent } from '../webhooks/webhook-sender.port';
import type { JobContext } from './job-map';
import {
  webhookJobId,
  type WebhookJobData,
  type WebhookStatus,
  type WebhookSubscription,
} from './webhook-job.types';

/** How embedded mode delivers webhooks: the delivery handler, retried in memory with backoff. */
export interface InProcessWebhooks {
  deliver(data: WebhookJobData, context: JobContext): Promise<unknown>;
  maxAttempts: number;
  backoffMs: number;
}

export interface InProcessQueueOptions {
  attempts: number;
  retentionCount: number;
  retentionSeconds: number;
  batchSize: number;
  /** Jobs running or waiting at once; beyond it enqueue answers 503 (each holds a prepared image). */
  maxPending?: number;
  /** Called with 'completed' | 'failed' | 'joined'. */
  observe?: (outcome: string) => void;
  /** At shutdown, how long running jobs may take to finish before the model is released. */
  drainMs?: number;
}

interface Owner {
  internalId: string;
  subject: string;
  cacheKey: string;
  createdAt: number;
  canceledAt?: number;
  webhook?: WebhookSubscription;
}

interface Finished {
  state: JobState;
  startedAt: number;
  completedAt: number;
}

export class InProcessJobQueue implements JobQueue, OnModuleDestroy {
  private readonly logger = new Logger(InProcessJobQueue.name);
  private readonly running = new Map<string, { done: Promise<JobState>; startedAt: number }>();
  private readonly finished: LRUCache<string, Finished>;
  private readonly owners: LRUCache<string, Owner>;
  private readonly maxPending: number;
  private readonly claims = new Map<string, Set<string>>();
  private readonly webhookStates: LRUCache<string, WebhookStatus>;
  private readonly deliveries = new Set<string>();
  private webhooks?: InProcessWebhooks;
  private closing = false;

  constructor(
    private readonly processor: CaptionJobHandler,
    private readonly timings: BatchTimings,
    private readonly options: InProcessQueueOptions,
  ) {
    const ttl = options.retentionSeconds * 1000;
    this.finished = new LRUCache({ max: options.retentionCount, ttl });
    this.owners = new LRUCache({ max: Math.max(options.retentionCount * 10, 10_000), ttl });
    this.maxPending = options.maxPending ?? 256;
    this.webhookStates = new LRUCache({ max: Math.max(options.retentionCount * 10, 10_000), ttl });
  }

  /** Webhook deliveries (their handler reads this queue, so it is attached after construction). */
  attachWebhooks(webhooks: InProcessWebhooks): void {
    this.webhooks = webhooks;
  }

  /** Shutdown (before the model module is destroyed): no new jobs, running ones finish (bounded). */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.drainMs ?? 20_000);
    });
    await Promise.race([Promise.allSettled([...this.running.values()].map((r) => r.done)), bound]);
    clearTimeout(timer);
  }

  enqueue(data: CaptionJobData): Promise<EnqueuedJob> {
    if (this.closing) return Promise.reject(queueUnavailable());
    const internalId = internalJobId(data.cacheKey, data.fresh);
    const previous = this.finished.get(internalId);
    if (this.running.has(internalId) || previous?.state.status === 'success') {
      this.options.observe?.('joined');
      return Promise.resolve({ internalId });
    }
    if (this.running.size >= this.maxPending) {
      return Promise.reject(
        new AppError({
          code: 'service.busy',
          status: 503,
          title: 'Service busy',
          detail: `${this.running.size} captions are already in progress; retry shortly.`,
          headers: { 'Retry-After': '2' },
        }),
      );
    }
    this.finished.delete(internalId);
    const startedAt = Date.now();
    const done = this.run(data).then((state) => {
      this.running.delete(internalId);
      this.finished.set(internalId, { state, startedAt, completedAt: Date.now() });
      void this.notifySubscribers(internalId, 'completed');
      return state;
    });
    this.running.set(internalId, { done, startedAt });
    return Promise.resolve({ internalId });
  }

  claim(job: EnqueuedJob, subject: string, cacheKey: string, webhook?: WebhookSubscription): Promise<string> {
    const jobId = randomUUID();
    const owner: Owner = { internalId: job.internalId, subject, cacheKey, createdAt: Date.now(), webhook };
    this.owners.set(jobId, owner);
    const set = this.claims.get(job.internalId) ?? new Set<string>();
    set.add(jobId);
    this.claims.set(job.internalId, set);
    if (webhook !== undefined) {
      // Jobs here start at once; a finished one has had both events.
      this.deliver(jobId, owner, 'started');
      if (!this.running.has(job.internalId)) this.deliver(jobId, owner, 'completed');
    }
    return Promise.resolve(jobId);
  }

  notifySubscribers(internalId: string, event: WebhookEvent): Promise<void> {
    for (const jobId of this.claims.get(internalId) ?? []) {
      const owner = this.owners.get(jobId);
      if (owner !== undefined && owner.canceledAt === undefined) this.deliver(jobId, owner, event);
    }
    if (event === 'completed') this.claims.delete(internalId);
    return Promise.resolve();
  }

  recordWebhook(jobId: string, status: WebhookStatus): Promise<void> {
    this.webhookStates.set(jobId, status);
    return Promise.resolve();
  }

  /** One delivery per public job and event, retried in memory with exponential backoff. */
  private deliver(jobId: string, owner: Owner, event: WebhookEvent): void {
    const webhooks = this.webhooks;
    const wh = owner.webhook;
    if (webhooks === undefined || wh === undefined || !wh.events.includes(event)) return;
    const id = webhookJobId(jobId, event);
    if (this.deliveries.has(id)) return;
    this.deliveries.add(id);
    if (!this.webhookStates.has(jobId)) this.webhookStates.set(jobId, { status: 'pending', attempts: 0 });
    const data: WebhookJobData = { jobId, subject: owner.subject, event, url: wh.url };
    const attempt = (n: number): void => {
      webhooks.deliver(data, { id, attempt: n }).then(
        () => undefined,
        (err: unknown) => {
          const permanent = (err as { code?: string }).code === 'webhook.refused';
          if (permanent || n >= webhooks.maxAttempts || this.closing) return;
          const timer = setTimeout(() => attempt(n + 1), webhooks.backoffMs * 2 ** (n - 1));
          timer.unref();
        },
      );
    };
    attempt(1);
  }

  async waitForResult(job: EnqueuedJob, timeoutMs: number): Promise<JobState> {
    const done = this.finished.get(job.internalId);
    if (done !== undefined) return done.state;
    const running = this.running.get(job.internalId)?.done;
    if (running === undefined) return { status: 'processing' };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<JobState>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'processing' }), timeoutMs);
    });
    return Promise.race([running, timeout]).finally(() => clearTimeout(timer));
  }

  status(jobId: string, subject: string): Promise<JobView | undefined> {
    const owner = this.owners.get(jobId);
    if (owner === undefined || owner.subject !== subject) return Promise.resolve(undefined);
    const running = this.running.get(owner.internalId);
    const done = this.finished.get(owner.internalId);
    const startedAt = running?.startedAt ?? done?.startedAt;
    const times = { createdAt: owner.createdAt, startedAt, webhook: this.webhookStates.get(jobId) };
    if (owner.canceledAt !== undefined) {
      return Promise.resolve({ ...times, status: 'canceled', completedAt: owner.canceledAt });
    }
    if (running !== undefined) return Promise.resolve({ ...times, status: 'processing' });
    if (done === undefined) return Promise.resolve({ ...times, status: 'gone', cacheKey: owner.cacheKey });
    return Promise.resolve({ ...times, ...done.state, completedAt: done.completedAt });
  }

  async cancel(jobId: string, subject: string): Promise<CancelOutcome | undefined> {
    const view = await this.status(jobId, subject);
    const owner = this.owners.get(jobId);
    if (view === undefined || owner === undefined) return undefined;
    if (view.status !== 'processing') return { canceled: false, status: view.status };
    owner.canceledAt = Date.now();
    this.claims.get(owner.internalId)?.delete(jobId);
    this.deliver(jobId, owner, 'completed');
    return { canceled: true };
  }

  estimateSeconds(position?: number): Promise<number> {
    return Promise.resolve(
      estimateSeconds({
        ahead: position ?? this.running.size,
        batchSize: this.options.batchSize,
        batchSeconds: this.timings.batchSeconds,
        workers: 1,
      }),
    );
  }

  available(): boolean {
    return !this.closing;
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  counts(): Promise<QueueCounts> {
    let failed = 0;
    for (const done of this.finished.values()) if (done.state.status === 'failed') failed++;
    return Promise.resolve({ waiting: 0, active: this.running.size, delayed: 0, failed });
  }

  private async run(data: CaptionJobData): Promise<JobState> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.processor.process(data);
        this.options.observe?.('completed');
        return { status: 'success', result };
      } catch (err) {
        const failure = failureOf(err, (id, cause) => this.logger.error(describeInternal(id, cause)));
        if (isPermanent(failure) || attempt >= this.options.attempts) {
          this.options.observe?.('failed');
          return { status: 'failed', error: failure };
        }
      }
    }
  }
}
