/**
 * The `Cache-Status` response header (RFC 9211) of a caption answer, with `captioner` as the cache's
 * name. One place for every value the API sends:
 * - `captioner; hit`: answered from the cache.
 * - `captioner; fwd=miss; stored`: not in the cache, computed now and written to it.
 * - `captioner; fwd=miss`: not in the cache, computing (202) or the computation failed (problem).
 * - `captioner; fwd=bypass[; stored]`: the cache was not consulted: the request's `Cache-Control:
 *   no-cache` (recomputed, and the entry overwritten, or still computing), or no key could be formed (no
 *   worker had announced its model version yet).
 */
export type CacheForward = 'miss' | 'bypass';

export const CACHE_STATUS_HEADER = 'cache-status';

export function cacheStatus(forward: CacheForward | 'hit', stored = false): string {
  if (forward === 'hit') return 'captioner; hit';
  return `captioner; fwd=${forward}${stored ? '; stored' : ''}`;
}

/** `Cache-Control: no-cache` (or `max-age=0`, or `Pragma: no-cache`) on a request: recompute. */
export function requestsRevalidation(
  cacheControl: string | string[] | undefined,
  pragma?: string | string[] | undefined,
): boolean {
  const directives = [cacheControl ?? []]
    .flat()
    .flatMap((v) => v.split(','))
    .map((d) => d.trim().toLowerCase().replace(/\s+/g, ''));
  if (directives.some((d) => d === 'no-cache' || d === 'max-age=0')) return true;
  if (cacheControl !== undefined) return false;
  return [pragma ?? []].flat().some((v) => v.toLowerCase().includes('no-cache'));
}
