/** Job failures: how a processor error travels through the queue and back to the client. */
import { randomUUID } from 'node:crypto';
import { AppError } from '../common/app-error';
import { ImageErrorCode } from '../image/image.errors';
import { ModelError, ModelErrorCode } from '../model/model.errors';
import type { JobFailure } from './caption-job.types';

/** Input errors fail the job at once: retrying the same input gives the same answer. */
const PERMANENT = new Set<string>([
  ...Object.values(ImageErrorCode),
  ModelErrorCode.BadOptions,
  'job.bad_payload',
  'webhook.refused',
]);

export class JobPayloadError extends Error {
  readonly code = 'job.bad_payload';
}

/** A webhook attempt that did not deliver; `webhook.refused` (not retried) when retrying cannot help. */
export class WebhookFailedError extends Error {
  readonly code: string;

  constructor(reason: string, retryable: boolean) {
    super(`webhook not delivered: ${reason}`);
    this.code = retryable ? 'webhook.failed' : 'webhook.refused';
  }
}

/** Where the cause of an unexpected failure goes (the worker's log), under the id the client is shown. */
export type InternalFailureSink = (errorId: string, err: unknown) => void;

/**
 * Coded errors carry a message written for clients. Anything else is an internal error whose text
 * (a stack frame, a path, a library's wording) is not the client's business: the client gets a
 * generic reason with an error id, and the cause is handed to `onInternal` under that id.
 */
export function failureOf(err: unknown, onInternal?: InternalFailureSink): JobFailure {
  if (err instanceof ModelError) return { code: err.code, message: err.message };
  if (err instanceof JobPayloadError) return { code: err.code, message: err.message };
  if (err instanceof WebhookFailedError) return { code: err.code, message: err.message };
  const errorId = randomUUID();
  onInternal?.(errorId, err);
  return {
    code: 'job.processing_failed',
    message: `Captioning failed on an internal error (error id ${errorId}); retry later.`,
  };
}

/** The log line for an internal failure: the error id and the cause, never shown to clients. */
export function describeInternal(errorId: string, err: unknown): string {
  const cause = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `job failed on an internal error (error id ${errorId}): ${cause}`;
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
