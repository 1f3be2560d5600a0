/**
 * The Keyv store under CACHE_MANAGER, with what cache-manager does not offer: a health ping. One per
 * process: Redis (@keyv/redis) in queue mode, a bounded in-memory LRU in embedded mode.
 */
import type { Keyv } from 'keyv';

export const CACHE_STORE = Symbol('CACHE_STORE');

export interface CacheStore {
  /** Handed to `CacheModule.registerAsync({ stores: [keyv] })`. */
  readonly keyv: Keyv;
  /** Resolves when the backing store answers, rejects otherwise. */
  ping(): Promise<void>;
}
