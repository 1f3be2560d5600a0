/**
 * The queue seen from the test: the internal (BullMQ) id of a job the API accepted (derived from the
 * cache key, as the API derives it), a read-only BullMQ view for states and attempts, and bounded
 * settling of many public job ids at once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { captionCacheKey, normalizeOptions } from '../../../src/cache/cache-key';
import { internalJobId } from '../../../src/jobs/caption-job.types';
import type { Answer } from '../../e2e/support/http';
import { sleep } from '../../helpers/time';
import type { CheckedClient } from './client';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The BullMQ id of the job the API creates for these bytes and options under a model version. */
export function internalIdOf(
  bytes: Buffer,
  modelVersion: string,
  fields: Record<string, string> = {},
): string {
  const options = normalizeOptions({
    prompt: fields.prompt,
    numCaptions: fields.num_captions === undefined ? 1 : Number(fields.num_captions),
  });
  return internalJobId(captionCacheKey(sha256(bytes), modelVersion, options));
}

/** A BullMQ Queue used only to look (counts, states, attempts). */
export function inspector(url: string, queueName = 'captions'): Queue {
  const q = new Queue(queueName, { connection: { url } });
  q.on('error', () => undefined);
  return q;
}

export async function activeCount(q: Queue): Promise<number> {
  return (await q.getJobCounts('active')).active ?? 0;
}

/** Job id from a 202 answer (asserting it is one). */
export function acceptedId(a: Answer): string {
  assert.equal(a.status, 202, `expected 202, got ${a.status}: ${JSON.stringify(a.body).slice(0, 300)}`);
  return String(a.body.job_id);
}

export interface Settled {
  id: string;
  answer: Answer;
  /** ms from the start of settling until the job was seen finished. */
  ms: number;
}

/**
 * Polls every job id until none is `processing`, at most `timeoutMs`. Answers other than 200 (a 404 for
 * a job that was lost, say) end that job's polling and are returned as they are.
 */
export async function settleAll(
  client: CheckedClient,
  auth: Record<string, string>,
  ids: string[],
  timeoutMs: number,
): Promise<Settled[]> {
  const started = Date.now();
  const open = new Set(ids);
  const done = new Map<string, Settled>();
  while (open.size > 0) {
    for (const id of [...open]) {
      const answer = await client.job(auth, id);
      if (answer.status !== 200 || answer.body.status !== 'processing') {
        done.set(id, { id, answer, ms: Date.now() - started });
        open.delete(id);
      }
    }
    if (open.size === 0) break;
    if (Date.now() - started > timeoutMs) {
      assert.fail(`${open.size} of ${ids.length} jobs still processing after ${timeoutMs} ms`);
    }
    await sleep(500);
  }
  return ids.map((id) => done.get(id) as Settled);
}
