/** The job queue port: BullMQ (queue mode) and in-process (embedded mode) adapters implement it. */
import type { ModelInfo } from '../model/caption-model.port';
import type { CaptionJobData, JobState } from './caption-job.types';

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

export interface JobQueue extends JobQueueHealth {
  /**
   * Adds the job under an id derived from `data.cacheKey`; an identical job that is waiting, running or
   * retained as completed is joined instead (a retained failed one is replaced). Throws AppError 503
   * when the backend is unreachable, quickly.
   */
  enqueue(data: CaptionJobData): Promise<EnqueuedJob>;
  /** A new random public job id (>= 122 bits) owned by `subject`, pointing at the internal job. */
  claim(job: EnqueuedJob, subject: string, cacheKey: string): Promise<string>;
  /** The job's final state, or `processing` when it is not done within `timeoutMs`. Never throws. */
  waitForResult(job: EnqueuedJob, timeoutMs: number): Promise<JobState>;
  /** State of a public job id for its owner; undefined for unknown ids and for any other subject. */
  status(jobId: string, subject: string): Promise<JobState | undefined>;
  /** The model the inference side runs (announced by workers in queue mode); undefined if none yet. */
  model(): Promise<ModelInfo | undefined>;
  /** False when the backend is known to be unreachable right now: callers refuse (503) before preparing work. */
  available(): boolean;
  /** Rough seconds until a newly queued job is done, for the 202 answer. */
  estimateSeconds(): Promise<number>;
}
