/**
 * The cache key: sha256 of the original image bytes + model version + normalized options. A new model
 * bundle has a new version, so it never serves captions of the old one. The same function runs in the
 * API (look-up, job id) and in the worker (write), so both agree on the key for a given model version.
 */
import { createHash } from 'node:crypto';
import type { DecodeOptions } from '../model/caption-model.port';

/** Bump when the key's layout or the normalization changes. */
const KEY_FORMAT = 'k1';

export interface CaptionOptions {
  prompt?: string;
  numCaptions: number;
}

/** Whitespace runs collapse to one space and the ends are trimmed; an empty prompt is no prompt. */
export function normalizeOptions(options: DecodeOptions): CaptionOptions {
  const prompt = options.prompt?.replace(/\s+/g, ' ').trim();
  return {
    ...(prompt !== undefined && prompt !== '' ? { prompt } : {}),
    numCaptions: options.numCaptions ?? 1,
  };
}

/**
 * The key's scope under CACHE_SCOPE=subject: a hash of the caller's subject (the subject itself never
 * reaches Redis or the job payload).
 */
export function subjectScope(subject: string): string {
  return createHash('sha256').update(`subject:${subject}`).digest('hex').slice(0, 32);
}

/**
 * With a `scope` (subjectScope), one subject's answers never serve (or reveal) another's; unscoped keys
 * keep their old format.
 */
export function captionCacheKey(
  sha256: string,
  modelVersion: string,
  options: DecodeOptions,
  scope?: string,
): string {
  const o = normalizeOptions(options);
  // Stable field order; the prompt is hashed so keys stay short and free of user text.
  const optionText = JSON.stringify([o.prompt ?? null, o.numCaptions]);
  const optionHash = createHash('sha256').update(optionText).digest('hex').slice(0, 16);
  const key = `${KEY_FORMAT}:${modelVersion}:${sha256}:${optionHash}`;
  if (scope === undefined) return key;
  return `${key}:s${scope}`;
}
