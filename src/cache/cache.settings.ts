import { IsInt, Max, Min } from 'class-validator';

/** Caption cache settings (API in both modes, worker in queue mode). */
export class CacheSettings {
  /** Time to live of a cached answer. */
  @IsInt()
  @Min(1)
  @Max(365 * 24 * 3600)
  CACHE_TTL_SECONDS = 86400;

  /** Entries of the in-memory LRU cache (embedded mode). */
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  CACHE_MEMORY_MAX_ENTRIES = 10_000;
}
