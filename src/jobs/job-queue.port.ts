/** The job queue port: BullMQ (queue mode) and in-process (embedded mode) adapters implement it. */
import type { WebhookEvent } from '../webhooks/webhook-sender.port';
import type { CaptionJobData, JobState, JobView } from './caption-job.types';
import type { WebhookStatus, WebhookSubscription } from './webhook-job.types';

export const JOB_QUEUE = Symbol('JOB_QUEUE');

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface JobQueueHealth {
  /** For health: resolves when the queue backend answers, rejects otherwise. */
  ping(): Promise<void>;
  counts(): Promise<QueueCounts>;
}

export interface EnqueuedJob {
  /** The queue's id, derived from the cache key; never shown to clients. */
  internalId: string;
}

/** The answer to a cancel: done, or refused because the job already finished (with its state). */
export type CancelOutcome = { canceled: true } | { canceled: false; status: JobState['status'] };

export interface JobQueue extends JobQueueHealth {
  /**
   * Adds the job under an id derived from `data.cacheKey`; an identical job that is waiting, running or
   * retained as completed is joined instead (a retained failed one is replaced). Throws AppError 503
   * when the backend is unreachable, quickly.
   */
  enqueue(data: CaptionJobData): Promise<EnqueuedJob>;
  /**
   * A new random public job id (>= 122 bits) owned by `subject`, pointing at the internal job, with the
   * client's webhook subscription (events already past are delivered at once).
   */
  claim(job: EnqueuedJob, subject: string, cacheKey: string, webhook?: WebhookSubscription): Promise<string>;
  /** Schedules a delivery of `event` for every public job on this internal job subscribed to it. */
  notifySubscribers(internalId: string, event: WebhookEvent): Promise<void>;
  /** Stores a public job's webhook delivery state (shown in its document). */
  recordWebhook(jobId: string, status: WebhookStatus): Promise<void>;
  /** The job's final state, or `processing` when it is not done within `timeoutMs`. Never throws. */
  waitForResult(job: EnqueuedJob, timeoutMs: number): Promise<JobState>;
  /** State and times of a public job id for its owner; undefined for unknown ids and any other subject. */
  status(jobId: string, subject: string): Promise<JobView | undefined>;
  /**
   * Cancels the owner's public job: a waiting job no other public id holds leaves the queue; a running
   * one finishes its batch; either way the public job reads `canceled`. A finished job is not changed.
   * Undefined for unknown ids and any other subject.
   */
  cancel(jobId: string, subject: string): Promise<CancelOutcome | undefined>;
  /** False when the backend is known to be unreachable right now: callers refuse (503) before preparing work. */
  available(): boolean;
  /**
   * Seconds until a job is done: batches ahead of it (`position` waiting jobs, or the whole queue) times
   * the measured recent batch duration, divided among the live workers.
   */
  estimateSeconds(position?: number): Promise<number>;
}
