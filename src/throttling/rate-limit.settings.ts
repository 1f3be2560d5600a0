import { IsInt, Max, Min } from 'class-validator';

/** Per-subject rate limit: RATE_LIMIT_LIMIT requests per RATE_LIMIT_TTL_SECONDS, per route. */
export class RateLimitSettings {
  @IsInt()
  @Min(1)
  @Max(86_400)
  RATE_LIMIT_TTL_SECONDS = 60;

  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RATE_LIMIT_LIMIT = 120;
}
