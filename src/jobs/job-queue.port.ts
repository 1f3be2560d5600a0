/** The job queue port: BullMQ (queue mode) and in-process (embedded mode) adapters implement it. */
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
