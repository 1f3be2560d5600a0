/**
 * The typed job map: job name -> payload and result. Producers (API) and processors (worker, or the
 * in-process queue) share these types; BullMQ stores the payload as JSON, so bytes travel as base64.
 */
import { createHash } from 'node:crypto';
import type { CachedCaptions } from '../cache/caption-cache.port';
import type { CaptionOptions } from '../cache/cache-key';

export const CAPTION_JOB = 'caption' as const;

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

/** name -> { data, result }: the one place a job type is declared. */
export interface JobMap {
  [CAPTION_JOB]: { data: CaptionJobData; result: CaptionJobResult };
}

export type JobName = keyof JobMap;

export interface JobFailure {
  code: string;
  message: string;
}

export type JobState =
  | { status: 'processing' }
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
