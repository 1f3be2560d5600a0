/** Job failures: how a processor error travels through the queue and back to the client. */
import { AppError } from '../common/app-error';
import { ModelError, ModelErrorCode } from '../model/model.errors';
import type { JobFailure } from './caption-job.types';

/** Input errors fail the job at once: retrying the same input gives the same answer. */
const PERMANENT = new Set<string>([
  ModelErrorCode.EmptyImage,
  ModelErrorCode.UnsupportedFormat,
  ModelErrorCode.Undecodable,
  ModelErrorCode.TooManyPixels,
  ModelErrorCode.TooManyFrames,
  ModelErrorCode.BadOptions,
  'job.bad_payload',
]);

export class JobPayloadError extends Error {
  readonly code = 'job.bad_payload';
}

export function failureOf(err: unknown): JobFailure {
  if (err instanceof ModelError) return { code: err.code, message: err.message };
  if (err instanceof JobPayloadError) return { code: err.code, message: err.message };
  return { code: 'job.processing_failed', message: err instanceof Error ? err.message : String(err) };
}

export function isPermanent(failure: JobFailure): boolean {
  return PERMANENT.has(failure.code);
}

/** "code: message", the form BullMQ keeps as failedReason. */
export function encodeFailure(f: JobFailure): string {
  return `${f.code}: ${f.message}`;
}

export function decodeFailure(reason: string | undefined): JobFailure {
  const m = /^([a-z][a-z0-9_.]*): ([\s\S]*)$/.exec(reason ?? '');
  return m
    ? { code: m[1], message: m[2] }
    : { code: 'job.processing_failed', message: reason ?? 'unknown failure' };
}

/** 503 for the client; the cause is logged by the adapter, not shown. */
export function queueUnavailable(): AppError {
  return new AppError({
    code: 'service.queue_unavailable',
    status: 503,
    title: 'Service unavailable',
    detail: 'The job queue is not reachable; retry shortly.',
    headers: { 'Retry-After': '5' },
  });
}
