/**
 * The cache key: sha256 of the original image bytes + model version + normalized options. A new model
 * bundle has a new version, so it never serves captions of the old one. The same function runs in the
 * API (look-up, job id) and in the worker (write), so both agree on the key for a given model version.
 */
import { createHash } from 'node:crypto';
import {
  GENERATION_BOUNDS,
  GENERATION_FIELDS,
  minimalGenerationOptions,
  type DecodeOptions,
  type GenerationOptions,
} from '../model/caption-model.port';

/** Bump when the key's layout or the normalization changes. */
const KEY_FORMAT = 'k1';

/** The options as the key and the job carry them: only generation options that differ from the default. */
export interface CaptionOptions extends GenerationOptions {
  prompt?: string;
  numCaptions: number;
}

/**
 * Whitespace runs collapse to one space and the ends are trimmed; an empty prompt is no prompt. Generation
 * options equal to their default, or not applying to the decoding mode, are dropped, so requests that
 * mean the same thing share a key.
 */
export function normalizeOptions(options: DecodeOptions): CaptionOptions {
  const prompt = options.prompt?.replace(/\s+/g, ' ').trim();
  return {
    ...(prompt !== undefined && prompt !== '' ? { prompt } : {}),
    numCaptions: options.numCaptions ?? GENERATION_BOUNDS.num_captions.default,
    ...minimalGenerationOptions(options),
  };
}

/**
 * decoding=sample without a seed: the seed is derived from the image's sha256 and the other normalized
 * options (first 32 bits of a sha256), so the same request always gives the same captions and an explicit
 * seed of that value shares the key. Other modes are returned unchanged.
 */
export function withDerivedSeed(options: CaptionOptions, sha256: string): CaptionOptions {
  if (options.decoding !== 'sample' || options.seed !== undefined) return options;
  const digest = createHash('sha256')
    .update(`${sha256}:${generationText(options)}`)
    .digest('hex');
  return { ...options, seed: Number.parseInt(digest.slice(0, 8), 16) };
}

/** The options in one fixed order: [prompt, num_captions] alone when every other option is a default. */
function generationText(o: CaptionOptions): string {
  const extras = [
    o.decoding ?? null,
    ...(Object.keys(GENERATION_FIELDS) as (keyof typeof GENERATION_FIELDS)[])
      .filter((field) => field !== 'num_captions')
      .map((field) => o[GENERATION_FIELDS[field]] ?? null),
  ];
  const base = [o.prompt ?? null, o.numCaptions];
  return JSON.stringify(extras.every((v) => v === null) ? base : [...base, extras]);
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
  // Stable field order; the prompt is hashed so keys stay short and free of user text. Default
  // generation options give the text (and key) of before issue 11.
  const optionText = generationText(o);
  const optionHash = createHash('sha256').update(optionText).digest('hex').slice(0, 16);
  const key = `${KEY_FORMAT}:${modelVersion}:${sha256}:${optionHash}`;
  if (scope === undefined) return key;
  return `${key}:s${scope}`;
}
