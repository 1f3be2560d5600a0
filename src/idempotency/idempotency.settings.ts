import { IsInt, Max, Min } from 'class-validator';

/** Idempotency-Key on POST /api/v1/caption (API, both modes). */
export class IdempotencySettings {
  /** How long an answered key is remembered (and replayed). */
  @IsInt()
  @Min(60)
  @Max(30 * 24 * 3600)
  IDEMPOTENCY_TTL_SECONDS = 86400;
}
