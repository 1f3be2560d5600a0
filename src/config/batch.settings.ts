import { IsInt, Max, Min } from 'class-validator';

/**
 * Dynamic batching, read by the model's batcher (largest batch, longest wait) and by the jobs module
 * (the worker's BullMQ concurrency equals the largest batch, so a full batch can gather).
 */
export class BatchSettings {
  @IsInt()
  @Min(1)
  @Max(256)
  BATCH_MAX_SIZE = 8;

  @IsInt()
  @Min(0)
  @Max(10_000)
  BATCH_MAX_WAIT_MS = 10;
}
