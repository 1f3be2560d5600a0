import { IsInt, Max, Min } from 'class-validator';

/** Job queue settings: waiting, retries, retention and the worker's batching. */
export class JobSettings {
  /** How long a synchronous request waits for its job before answering 202 with the job id. */
  @IsInt()
  @Min(0)
  @Max(600_000)
  SYNC_TIMEOUT_MS = 30_000;

  /** Attempts per job (first run included) before it is reported failed. */
  @IsInt()
  @Min(1)
  @Max(20)
  JOB_ATTEMPTS = 3;

  /** Finished jobs kept per state (completed, failed), at most ... */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  JOB_RETENTION_COUNT = 1000;

  /** ... and for at most this long; also the lifetime of a public job id. */
  @IsInt()
  @Min(10)
  @Max(30 * 24 * 3600)
  JOB_RETENTION_SECONDS = 3600;

  /** Worker concurrency and the largest batch (same variable as the model's batcher). */
  @IsInt()
  @Min(1)
  @Max(256)
  BATCH_MAX_SIZE = 8;

  @IsInt()
  @Min(0)
  @Max(10_000)
  BATCH_MAX_WAIT_MS = 10;

  /**
   * Worker job lock. BullMQ renews it every half period from the event loop, and onnxruntime-node's
   * session.run() holds the loop for the whole of each graph run (its promise wraps a synchronous call),
   * so half the lock must stay well above the longest single run (the vision encoder on a full batch). A
   * worker that dies leaves its jobs to be taken over after about lock + stalled-check interval.
   */
  @IsInt()
  @Min(1000)
  @Max(600_000)
  JOB_LOCK_DURATION_MS = 60_000;

  @IsInt()
  @Min(500)
  @Max(600_000)
  JOB_STALLED_INTERVAL_MS = 30_000;
}
