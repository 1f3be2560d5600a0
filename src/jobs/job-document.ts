/**
 * The job document of GET /api/v1/caption/{id}, which is also the body of its webhooks: the state, the
 * captions once done, the lifecycle times in RFC 3339 UTC with the derived durations, the webhook's
 * delivery state. Built here (not in captioning) because the worker sends it too.
 */
import type { CachedCaptions } from '../cache/caption-cache.port';
import type { JobTimes, JobView } from './caption-job.types';
import type { WebhookStatus } from './webhook-job.types';

export interface JobDocument {
  status: 'processing' | 'success' | 'failed' | 'canceled';
  job_id: string;
  captions?: CachedCaptions['captions'];
  model?: CachedCaptions['model'];
  cached?: boolean;
  image?: CachedCaptions['image'];
  error?: { code: string; message: string };
  estimated_time_seconds?: number;
  created_at?: string;
  started_at?: string;
  completed_at?: string;
  metrics?: { queue_seconds?: number; inference_seconds?: number };
  queue_position?: number;
  webhook?: WebhookStatus;
}

export interface DocumentSources {
  /** The cached answer under a key (a job no longer retained may still be answered from the cache). */
  cached(key: string): Promise<CachedCaptions | undefined>;
  estimate(position?: number): Promise<number>;
}

/** Seconds between two instants, to the millisecond; undefined unless both are known. */
function seconds(from: number | undefined, to: number | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  return Math.max(0, Math.round(to - from)) / 1000;
}

function rfc3339(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** created/started/completed and metrics; a request that joined a running job may show it started earlier. */
export function timesOf(
  t: JobTimes,
): Pick<JobDocument, 'created_at' | 'started_at' | 'completed_at' | 'metrics' | 'queue_position'> {
  const started = t.startedAt === undefined ? undefined : Math.max(t.startedAt, t.createdAt ?? 0);
  const doc: ReturnType<typeof timesOf> = {};
  if (t.createdAt !== undefined) doc.created_at = rfc3339(t.createdAt);
  if (t.startedAt !== undefined) doc.started_at = rfc3339(t.startedAt);
  if (t.completedAt !== undefined) doc.completed_at = rfc3339(t.completedAt);
  const queue = seconds(t.createdAt, started ?? t.completedAt);
  const inference = seconds(t.startedAt, t.completedAt);
  if (queue !== undefined || inference !== undefined) {
    doc.metrics = {
      ...(queue !== undefined ? { queue_seconds: queue } : {}),
      ...(inference !== undefined ? { inference_seconds: inference } : {}),
    };
  }
  if (t.queuePosition !== undefined) doc.queue_position = t.queuePosition;
  return doc;
}

function answered(value: CachedCaptions, cached: boolean): Partial<JobDocument> {
  return { status: 'success', captions: value.captions, model: value.model, cached, image: value.image };
}

export async function buildJobDocument(
  jobId: string,
  view: JobView,
  sources: DocumentSources,
): Promise<JobDocument> {
  const extra = { ...timesOf(view), ...(view.webhook !== undefined ? { webhook: view.webhook } : {}) };
  switch (view.status) {
    case 'success':
      return { job_id: jobId, status: 'success', ...answered(view.result, false), ...extra };
    case 'failed':
      return { status: 'failed', job_id: jobId, error: { ...view.error }, ...extra };
    case 'canceled':
      return { status: 'canceled', job_id: jobId, ...extra };
    case 'gone': {
      const hit = view.cacheKey === '' ? undefined : await sources.cached(view.cacheKey);
      if (hit !== undefined) return { job_id: jobId, status: 'success', ...answered(hit, true), ...extra };
      return {
        status: 'failed',
        job_id: jobId,
        error: {
          code: 'job.expired',
          message: 'The job finished too long ago: its result is no longer kept.',
        },
        ...extra,
      };
    }
    default:
      return {
        status: 'processing',
        job_id: jobId,
        estimated_time_seconds: await sources.estimate(view.queuePosition),
        ...extra,
      };
  }
}

/** Retry-After for a 202 or a processing poll: the estimate, kept between 1 and 10 seconds. */
export function retryAfterSeconds(estimate: number): number {
  return Math.min(10, Math.max(1, Math.ceil(estimate)));
}
