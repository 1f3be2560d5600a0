/**
 * Queue mode's job queue (API side): the caption Queue (@InjectQueue, registered by JobsModule on
 * @nestjs/bullmq) to add and read jobs, queue events (JobEvents, fed by the @QueueEventsListener host) to
 * wake waiters. Fails fast when Redis is down: the owner records' connection has no offline queue, every
 * queue operation has a deadline, and enqueue refuses at once while that connection is not ready, so an
 * enqueue during an outage is a 503 within milliseconds, never a hang. Public job ids (random UUIDs) map
 * to {internal id, subject, created, canceled} records kept in Redis with the retention TTL; the claims of
 * an internal job are a set, so a cancel removes a waiting job only when nobody else holds it.
 */
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { randomUUID } from 'node:crypto';
import { Job, Queue, type JobsOptions } from 'bullmq';
import { createQueueRedis, type RedisConnection } from '../config/redis-connection';
import type { RedisSettings } from '../config/redis.settings';
import { estimateSeconds } from './batch-timings';
import {
  internalJobId,
  type CaptionJobData,
  type CaptionJobResult,
  type JobState,
  type JobView,
} from './caption-job.types';
import type { WebhookEvent } from '../webhooks/webhook-sender.port';
import { CAPTION_JOB, WEBHOOK_JOB } from './job-map';
import { JobEvents, type QueueEvent } from './job-events';
import { decodeFailure, queueUnavailable } from './job.errors';
import type { CancelOutcome, EnqueuedJob, JobQueue, QueueCounts } from './job-queue.port';
import { CAPTION_QUEUE, WEBHOOK_QUEUE } from './queues';
import {
  webhookJobId,
  type WebhookJobData,
  type WebhookStatus,
  type WebhookSubscription,
} from './webhook-job.types';
import { failFastRedisOptions, jobKeyBase, OP_TIMEOUT_MS, workerStatsKey } from './redis-options';
import { readFleet } from './worker-stats';
import { ReplicationBarrier } from './replication-barrier';
import { MetricsService } from '../metrics/metrics.service';

export const BULLMQ_QUEUE_OPTIONS = Symbol('BULLMQ_QUEUE_OPTIONS');

export interface BullMqQueueOptions {
  /** The queue Redis (standalone or cluster) and QUEUE_NAME. */
  redis: RedisSettings;
  queueName: string;
  attempts: number;
  retentionCount: number;
  retentionSeconds: number;
  batchSize: number;
  /** First retry delay, doubled per attempt. */
  backoffMs?: number;
  /** Webhook deliveries: attempts and first retry delay (doubled per attempt). */
  webhookAttempts?: number;
  webhookBackoffMs?: number;
}

/** Safety net under the queue events: a waiter also re-reads its job this often (events can be missed). */
const POLL_MS = 1000;
const FLEET_TTL_MS = 2000;

type CaptionQueue = Queue<CaptionJobData, CaptionJobResult>;

interface OwnerRecord {
  id: string;
  sub: string;
  key: string;
  /** Accepted at (epoch ms). */
  at?: number;
  /** Canceled at (epoch ms). */
  canceled?: number;
  wh?: WebhookSubscription;
}

export function jobOptions(
  o: Pick<BullMqQueueOptions, 'attempts' | 'retentionCount' | 'retentionSeconds' | 'backoffMs'>,
): JobsOptions {
  return {
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: o.backoffMs ?? 1000 },
    removeOnComplete: { count: o.retentionCount, age: o.retentionSeconds },
    removeOnFail: { count: o.retentionCount, age: o.retentionSeconds },
  };
}

@Injectable()
export class BullMqJobQueue implements JobQueue, OnModuleDestroy {
  private readonly logger = new Logger(BullMqJobQueue.name);
  private readonly redis: RedisConnection;
  /** With QUEUE_WAIT_REPLICAS: accepted jobs wait for the replicas, on a connection of their own. */
  private readonly barrier?: ReplicationBarrier;
  private readonly barrierRedis?: RedisConnection;
  /** Base of the owner / claims / webhook keys (hash-tagged on a cluster: claim's MULTI is one slot). */
  private readonly keyBase: string;
  private readonly waiters = new Map<string, Set<(state: JobState) => void>>();
  private readonly unsubscribe?: () => void;
  private fleet?: { at: number; workers: number; batchSeconds: number | undefined };
  private lastErrorLog = 0;
  private lastReplicationLog = 0;
  private closing = false;

  constructor(
    @InjectQueue(CAPTION_QUEUE) private readonly queue: CaptionQueue,
    @Optional() @Inject(JobEvents) events: JobEvents | undefined,
    @Inject(BULLMQ_QUEUE_OPTIONS) private readonly options: BullMqQueueOptions,
    @Optional() @InjectQueue(WEBHOOK_QUEUE) private readonly webhooks?: Queue<WebhookJobData>,
    @Optional() @Inject(MetricsService) private readonly metrics?: MetricsService,
  ) {
    this.redis = createQueueRedis(options.redis, failFastRedisOptions());
    this.keyBase = jobKeyBase(options.queueName, options.redis.REDIS_CLUSTER);
    const replicas = options.redis.queueWaitReplicas;
    if (replicas > 0) {
      const timeout = options.redis.QUEUE_WAIT_TIMEOUT_MS;
      this.barrierRedis = createQueueRedis(options.redis, {
        ...failFastRedisOptions(),
        commandTimeout: timeout + OP_TIMEOUT_MS,
      });
      this.barrierRedis.on('error', (err: Error) => this.logError('replication barrier connection', err));
      this.barrier = new ReplicationBarrier(
        this.barrierRedis,
        `${this.keyBase}:replicated`,
        replicas,
        timeout,
      );
    }
    this.redis.on('error', (err: Error) => this.logError('producer connection', err));
    this.queue.on('error', (err: Error) => this.logError('queue', err));
    this.unsubscribe = events?.subscribe((event) => this.onEvent(event));
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    this.unsubscribe?.();
    this.redis.disconnect();
    this.barrierRedis?.disconnect();
    return Promise.resolve();
  }

  async enqueue(data: CaptionJobData): Promise<EnqueuedJob> {
    this.ensureReachable();
    const internalId = internalJobId(data.cacheKey, data.fresh);
    try {
      await withDeadline(
        (async () => {
          // A retained failed job with this id would be "joined" and fail again at once: run it again
          // instead (retry is atomic, so two replicas doing this at once start it once).
          if ((await this.queue.getJobState(internalId)) === 'failed') {
            const failed = await this.queue.getJob(internalId);
            if (failed !== undefined) {
              await failed.updateData(data); // its image was dropped when it failed
              await failed
                .retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
                .catch(() => undefined);
            }
          }
          await this.queue.add(CAPTION_JOB, data, { ...jobOptions(this.options), jobId: internalId });
        })(),
        OP_TIMEOUT_MS,
      );
      return { internalId };
    } catch (err) {
      this.logError('enqueue', err);
      throw queueUnavailable();
    }
  }

  async claim(
    job: EnqueuedJob,
    subject: string,
    cacheKey: string,
    webhook?: WebhookSubscription,
  ): Promise<string> {
    const jobId = randomUUID();
    const record: OwnerRecord = {
      id: job.internalId,
      sub: subject,
      key: cacheKey,
      at: Date.now(),
      wh: webhook,
    };
    try {
      await this.writeClaim(jobId, job.internalId, record);
    } catch (err) {
      this.logError('claim', err);
      throw queueUnavailable();
    }
    if (webhook !== undefined) {
      // Events that happened before this claim are delivered now (the delivery id makes it once).
      const view = await this.read(job.internalId).catch(() => undefined);
      if (view?.startedAt !== undefined || (view !== undefined && view.status !== 'processing'))
        await this.deliver(jobId, record, 'started');
      if (view !== undefined && view.status !== 'processing') await this.deliver(jobId, record, 'completed');
    }
    return jobId;
  }

  /**
   * The owner record and the claim (one transaction, on the master of the queue's slot); with
   * QUEUE_WAIT_REPLICAS, then the replication barrier: the 202 is only sent for a job a failover cannot
   * lose (the claim is the job's last write, so its replication covers the job's own).
   */
  private async writeClaim(jobId: string, internalId: string, record: OwnerRecord): Promise<void> {
    const ttl = this.options.retentionSeconds;
    await this.redis
      .multi()
      .set(this.ownerKey(jobId), JSON.stringify(record), 'EX', ttl)
      .sadd(this.claimsKey(internalId), jobId)
      .expire(this.claimsKey(internalId), ttl)
      .exec();
    if (this.barrier === undefined) return;
    const outcome = await this.barrier.sync(this.ownerKey(jobId));
    if (!outcome.present) throw new Error('the claim was lost in a failover of the queue Redis');
    this.checkReplicated(outcome.replicas, this.options.redis.queueWaitReplicas);
  }

  async notifySubscribers(internalId: string, event: WebhookEvent): Promise<void> {
    if (this.webhooks === undefined) return;
    const ids = await this.redis.smembers(this.claimsKey(internalId));
    if (ids.length === 0) return;
    const raws = await this.redis.mget(...ids.map((id) => this.ownerKey(id)));
    await Promise.all(
      ids.map((id, i) => {
        const owner = raws[i] === null ? undefined : (safeParse(raws[i] ?? '') as OwnerRecord | undefined);
        return owner === undefined ? undefined : this.deliver(id, owner, event);
      }),
    );
  }

  async recordWebhook(jobId: string, status: WebhookStatus): Promise<void> {
    await this.redis.set(this.webhookKey(jobId), JSON.stringify(status), 'EX', this.options.retentionSeconds);
  }

  /** Adds the delivery job of `event` if the owner subscribed to it (its id joins duplicates). */
  private async deliver(jobId: string, owner: OwnerRecord, event: WebhookEvent): Promise<void> {
    const wh = owner.wh;
    if (this.webhooks === undefined || wh === undefined || !wh.events.includes(event)) return;
    const o = this.options;
    try {
      if ((await this.redis.exists(this.webhookKey(jobId))) === 0)
        await this.recordWebhook(jobId, { status: 'pending', attempts: 0 });
      await withDeadline(
        this.webhooks.add(
          WEBHOOK_JOB,
          { jobId, subject: owner.sub, event, url: wh.url },
          {
            jobId: webhookJobId(jobId, event),
            attempts: o.webhookAttempts ?? 12,
            backoff: { type: 'exponential', delay: o.webhookBackoffMs ?? 10_000 },
            removeOnComplete: { count: o.retentionCount, age: o.retentionSeconds },
            removeOnFail: { count: o.retentionCount, age: o.retentionSeconds },
          },
        ),
        OP_TIMEOUT_MS,
      );
    } catch (err) {
      this.logError('webhook enqueue', err);
    }
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
          (view) => (view.status === 'success' || view.status === 'failed') && finish(view),
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

  async status(jobId: string, subject: string): Promise<JobView | undefined> {
    const owner = await this.owner(jobId, subject);
    if (owner === undefined) return undefined;
    const view = await this.read(owner.id).catch(() => {
      throw queueUnavailable();
    });
    const webhook =
      owner.wh === undefined
        ? undefined
        : ((safeParse((await this.redis.get(this.webhookKey(jobId)).catch(() => null)) ?? '') as
            WebhookStatus | undefined) ?? { status: 'pending', attempts: 0 });
    const times = { ...view, createdAt: owner.at ?? view.createdAt, webhook };
    if (owner.canceled !== undefined) {
      return {
        status: 'canceled',
        createdAt: times.createdAt,
        startedAt: view.startedAt,
        completedAt: owner.canceled,
        webhook,
      };
    }
    return view.status === 'gone' ? { ...times, status: 'gone', cacheKey: owner.key } : times;
  }

  async cancel(jobId: string, subject: string): Promise<CancelOutcome | undefined> {
    const owner = await this.owner(jobId, subject);
    if (owner === undefined) return undefined;
    if (owner.canceled !== undefined) return { canceled: false, status: 'canceled' };
    try {
      const view = await this.read(owner.id);
      if (view.status !== 'processing') return { canceled: false, status: view.status };
      const updated: OwnerRecord = { ...owner, canceled: Date.now() };
      await this.redis.set(this.ownerKey(jobId), JSON.stringify(updated), 'KEEPTTL');
      await this.redis.srem(this.claimsKey(owner.id), jobId);
      await this.deliver(jobId, updated, 'completed');
      // Nobody else holds the job: take it out of the queue if it has not started (a locked, running
      // job is not removed: it finishes its batch and its captions go to the cache).
      if ((await this.redis.scard(this.claimsKey(owner.id))) === 0) {
        const state = await withDeadline(this.queue.getJobState(owner.id), OP_TIMEOUT_MS);
        if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
          await withDeadline(this.queue.remove(owner.id), OP_TIMEOUT_MS).catch(() => 0);
        }
      }
      return { canceled: true };
    } catch (err) {
      if (err instanceof Error && 'problem' in err) throw err;
      this.logError('cancel', err);
      throw queueUnavailable();
    }
  }

  async estimateSeconds(position?: number): Promise<number> {
    try {
      const fleet = await this.fleetStats();
      let ahead = position;
      if (ahead === undefined) {
        const c = await this.counts();
        ahead = c.waiting + c.active;
      }
      return estimateSeconds({
        ahead,
        batchSize: this.options.batchSize,
        batchSeconds: fleet.batchSeconds,
        workers: fleet.workers,
      });
    } catch {
      return estimateSeconds({ ahead: 0, batchSize: 1, batchSeconds: undefined, workers: 1 });
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
    this.ensureReachable();
    const c = await withDeadline(
      this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'),
      OP_TIMEOUT_MS,
    );
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  private onEvent(event: QueueEvent): void {
    if (!this.waiters.has(event.jobId)) return;
    if (event.kind === 'completed') {
      const result = typeof event.returnvalue === 'string' ? safeParse(event.returnvalue) : event.returnvalue;
      if (isResult(result)) return this.wake(event.jobId, { status: 'success', result });
    }
    void this.refresh(event.jobId);
  }

  private async owner(jobId: string, subject: string): Promise<OwnerRecord | undefined> {
    let raw: string | null;
    try {
      raw = await this.redis.get(this.ownerKey(jobId));
    } catch (err) {
      this.logError('status', err);
      throw queueUnavailable();
    }
    const owner = raw === null ? undefined : (safeParse(raw) as OwnerRecord | undefined);
    if (owner?.id === undefined || owner.sub !== subject) return undefined;
    return owner;
  }

  /**
   * An accepted job not yet on `wanted` replicas is still accepted (a lagging or lost replica must not stop
   * the service), but it is counted and logged: a master failover before replication would lose it.
   */
  private checkReplicated(acknowledged: number, wanted: number): void {
    if (acknowledged >= wanted) return;
    this.metrics?.jobs.inc({ outcome: 'unreplicated' });
    const now = Date.now();
    if (now - this.lastReplicationLog < 5000) return;
    this.lastReplicationLog = now;
    this.logger.warn(
      `job accepted on ${acknowledged} of ${wanted} queue Redis replicas within ` +
        `${this.options.redis.QUEUE_WAIT_TIMEOUT_MS} ms (QUEUE_WAIT_REPLICAS): a failover now could lose it`,
    );
  }

  private ensureReachable(): void {
    if (this.closing || this.redis.status !== 'ready') throw queueUnavailable();
  }

  /** The internal job's state and times; `gone` once retention dropped it. */
  private async read(internalId: string): Promise<JobView> {
    this.ensureReachable();
    return withDeadline(this.readJob(internalId), OP_TIMEOUT_MS);
  }

  private async readJob(internalId: string): Promise<JobView> {
    // State first: a finished job's fields are final, while a job read before its state could have
    // finished in between (then it would look failed without its reason).
    const state = await this.queue.getJobState(internalId);
    if (state === 'unknown') return { status: 'gone', cacheKey: '' };
    if (state !== 'completed' && state !== 'failed') {
      // Only the times: the running job's data still holds its ~590 KB image.
      const [created, processed] = await this.redis.hmget(
        this.queue.toKey(internalId),
        'timestamp',
        'processedOn',
      );
      const times = { createdAt: toMs(created), startedAt: toMs(processed) };
      if (state === 'waiting' || state === 'prioritized') {
        return { ...times, status: 'processing', queuePosition: await this.position(internalId) };
      }
      return { ...times, status: 'processing' };
    }
    const job = (await Job.fromId(this.queue, internalId)) as
      Job<CaptionJobData, CaptionJobResult> | undefined;
    if (job === undefined) return { status: 'gone', cacheKey: '' };
    const times = {
      createdAt: job.timestamp,
      startedAt: job.processedOn ?? undefined,
      completedAt: job.finishedOn ?? undefined,
    };
    if (state === 'completed' && isResult(job.returnvalue))
      return { ...times, status: 'success', result: job.returnvalue };
    if (state === 'failed') return { ...times, status: 'failed', error: decodeFailure(job.failedReason) };
    return { ...times, status: 'processing' };
  }

  /** Waiting jobs ahead: the wait list is pushed on the left and taken from the right. */
  private async position(internalId: string): Promise<number | undefined> {
    const key = this.queue.toKey('wait');
    const [index, length] = await Promise.all([
      this.redis.call('LPOS', key, internalId) as Promise<number | null>,
      this.redis.llen(key),
    ]);
    return index === null ? undefined : Math.max(0, length - 1 - index);
  }

  private async fleetStats(): Promise<{ workers: number; batchSeconds: number | undefined }> {
    const cached = this.fleet;
    if (cached !== undefined && Date.now() - cached.at < FLEET_TTL_MS) return cached;
    const fleet = await readFleet(this.redis, workerStatsKey(this.options.queueName));
    this.fleet = { at: Date.now(), ...fleet };
    return fleet;
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
    return `${this.keyBase}:job:${jobId}`;
  }

  private webhookKey(jobId: string): string {
    return `${this.keyBase}:webhook:${jobId}`;
  }

  private claimsKey(internalId: string): string {
    return `${this.keyBase}:claims:${internalId}`;
  }

  private logError(what: string, err: unknown): void {
    if (this.closing) return;
    const now = Date.now();
    if (now - this.lastErrorLog < 5000) return;
    this.lastErrorLog = now;
    this.logger.warn(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function toMs(value: string | null): number | undefined {
  const n = value === null ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
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

export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
