/**
 * The caption job's payload, result and states. Producers (API) and processors (worker, or the
 * in-process queue) share these types (the job map is in job-map.ts); BullMQ stores the payload as JSON, so bytes travel as base64.
 */
import { createHash } from 'node:crypto';
import type { CachedCaptions } from '../cache/caption-cache.port';
import type { CaptionOptions } from '../cache/cache-key';
import type { WebhookStatus } from './webhook-job.types';

export interface CaptionJobData {
  /** The image as the model takes it (decodeImage): size x size x 3 RGB uint8, base64. ~590 KB at 384. */
  rgb: string;
  size: number;
  /** Original image size after EXIF orientation, and the sha256 of the original bytes. */
  width: number;
  height: number;
  sha256: string;
  options: CaptionOptions;
  /** The key the API looked up (and derived the job id from). */
  cacheKey: string;
  /** Model version the API computed the key with ('' when no worker had announced one yet). */
  modelVersion: string;
  /** The cache key's scope (subjectScope) under CACHE_SCOPE=subject, so the worker uses the same key. */
  scope?: string;
  /**
   * Set when the client asked for a recomputation (Cache-Control: no-cache): mixed into the job id so
   * the job joins no earlier (retained, completed) one; the result still overwrites `cacheKey`.
   */
  fresh?: string;
  /** The HTTP request id, so one caption can be followed from the API to the worker in the logs. */
  requestId?: string;
  enqueuedAt: number;
}

export type CaptionJobResult = CachedCaptions;

export interface JobFailure {
  code: string;
  message: string;
}

export type JobState =
  | { status: 'processing' }
  /** The owner canceled it (a running job still finishes its batch and fills the cache). */
  | { status: 'canceled' }
  | { status: 'success'; result: CaptionJobResult }
  | { status: 'failed'; error: JobFailure }
  /** Known public id whose job is no longer retained; its answer may still be in the cache. */
  | { status: 'gone'; cacheKey: string };

/**
 * The internal (queue) job id: derived from the cache key, so identical requests on any API replica
 * join one job. BullMQ ids must not be integers nor contain ':'.
 */
export function internalJobId(cacheKey: string, fresh?: string): string {
  const id = fresh === undefined ? cacheKey : `${cacheKey}:fresh:${fresh}`;
  return `cap-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

/** When a public job was accepted, started and finished (epoch ms), and where it waits. */
export interface JobTimes {
  createdAt?: number;
  startedAt?: number;
  completedAt?: number;
  /** Waiting jobs ahead of it, while it waits. */
  queuePosition?: number;
}

/** What a status read returns: the state with its times and its webhook's delivery state. */
export type JobView = JobState & JobTimes & { webhook?: WebhookStatus };
