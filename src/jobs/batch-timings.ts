/**
 * Measured batch durations, for the estimate a client is given. Where inference runs, the batcher feeds
 * record(); the worker publishes the figure (ModelAnnouncer) so the API can divide the queue among the
 * live workers. The estimate: batches of BATCH_MAX_SIZE ahead of the job (itself included), shared by the
 * workers, each taking the recent mean batch duration.
 */

/** Used until a batch has been measured: about a CPU fp32 batch of a few images. */
export const UNMEASURED_BATCH_SECONDS = 5;

/** Weight of the newest batch in the running mean: follows a slower (or faster) model within a few batches. */
const NEWEST_WEIGHT = 0.5;

export class BatchTimings {
  private mean?: number;

  record(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.mean = this.mean === undefined ? seconds : this.mean + NEWEST_WEIGHT * (seconds - this.mean);
  }

  /** Recent mean duration of one batch, undefined before the first. */
  get batchSeconds(): number | undefined {
    return this.mean;
  }
}

export interface EstimateInput {
  /** Jobs that will be served before this one (waiting ahead, and running). */
  ahead: number;
  batchSize: number;
  batchSeconds: number | undefined;
  workers: number;
}

/** Whole seconds, at least 1. */
export function estimateSeconds(e: EstimateInput): number {
  const perBatch = e.batchSeconds ?? UNMEASURED_BATCH_SECONDS;
  const capacity = Math.max(1, e.batchSize) * Math.max(1, e.workers);
  const rounds = Math.ceil((Math.max(0, e.ahead) + 1) / capacity);
  return Math.max(1, Math.ceil(rounds * perBatch));
}
