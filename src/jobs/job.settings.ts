import { IsInt, Max, Min } from 'class-validator';
import { BatchSettings } from '../config/batch.settings';

/** Job queue settings: waiting, retries, retention, locks, and the worker's batching (BatchSettings). */
export class JobSettings extends BatchSettings {
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

  /**
   * Worker job lock, renewed by BullMQ every half period from the event loop. Inference runs in a worker
   * thread (src/model), so the loop only pauses briefly (~100 ms measured); the lock need not outlast a
   * batch. A worker that dies leaves its jobs to be taken over after about lock + stalled-check interval.
   */
  @IsInt()
  @Min(1000)
  @Max(600_000)
  JOB_LOCK_DURATION_MS = 30_000;

  @IsInt()
  @Min(500)
  @Max(600_000)
  JOB_STALLED_INTERVAL_MS = 15_000;

  /**
   * Attempts of one webhook delivery (first included). With WEBHOOK_BACKOFF_MS doubling per attempt, the
   * defaults keep retrying for about 5.7 hours (10 s, 20 s, ... 5.7 min between the last ones).
   */
  @IsInt()
  @Min(1)
  @Max(30)
  WEBHOOK_MAX_ATTEMPTS = 12;

  /** First delay before retrying a webhook delivery, doubled per attempt. */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  WEBHOOK_BACKOFF_MS = 10_000;
}
