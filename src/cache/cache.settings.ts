import { IsIn, IsInt, Max, Min } from 'class-validator';

export const CACHE_SCOPES = ['shared', 'subject'] as const;
export type CacheScope = (typeof CACHE_SCOPES)[number];

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

  /**
   * `shared`: one answer per image and options for every client (most hits). `subject`: the caller's
   * subject is part of the key, so no client can learn that another sent an image (docs/decisions.md).
   */
  @IsIn(CACHE_SCOPES)
  CACHE_SCOPE: CacheScope = 'shared';
}
