/** The caption cache port: Redis (Keyv) and in-memory LRU adapters implement it. */
import type { Caption } from '../model/caption-model.port';

export const CAPTION_CACHE = Symbol('CAPTION_CACHE');

export interface CachedCaptions {
  captions: Caption[];
  model: { id: string; version: string };
  image: { sha256: string; width: number; height: number };
}

export interface CaptionCache {
  /** A failure is a miss (logged and counted by the adapter), never a thrown error. */
  get(key: string): Promise<CachedCaptions | undefined>;
  /** A failure is logged and counted, never thrown. */
  set(key: string, value: CachedCaptions, ttlSeconds: number): Promise<void>;
  /** For health: resolves when the backing store answers, rejects otherwise. */
  ping(): Promise<void>;
}
