/**
 * The job document of GET /api/v1/caption/{id} (also the body of its webhook): the state, the captions
 * once done, and the lifecycle times in RFC 3339 UTC with the derived durations.
 */
import type { JobTimes } from '../jobs/caption-job.types';
import type { JobStatusDto } from './dto/caption-response.dto';

/** Seconds between two instants, to the millisecond; undefined unless both are known. */
function seconds(from: number | undefined, to: number | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  return Math.max(0, Math.round(to - from)) / 1000;
}

function rfc3339(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** created/started/completed and metrics for a job document; a joined job may have started earlier. */
export function timesOf(
  t: JobTimes,
): Pick<JobStatusDto, 'created_at' | 'started_at' | 'completed_at' | 'metrics' | 'queue_position'> {
  const started = t.startedAt === undefined ? undefined : Math.max(t.startedAt, t.createdAt ?? 0);
  const doc: ReturnType<typeof timesOf> = {};
  if (t.createdAt !== undefined) doc.created_at = rfc3339(t.createdAt);
  if (t.startedAt !== undefined) doc.started_at = rfc3339(t.startedAt);
  if (t.completedAt !== undefined) doc.completed_at = rfc3339(t.completedAt);
  const queue = seconds(t.createdAt, started ?? (t.completedAt === undefined ? undefined : t.completedAt));
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

/** Retry-After for a 202 or a processing poll: the estimate, kept between 1 and 10 seconds. */
export function retryAfterSeconds(estimate: number): number {
  return Math.min(10, Math.max(1, Math.ceil(estimate)));
}
