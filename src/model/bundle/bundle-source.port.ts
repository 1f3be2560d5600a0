/**
 * Where a published bundle is read from (MODEL_URI): one adapter per scheme (s3, https, file). A source
 * only opens files by their name in the bundle; verifying them against the manifest is the cache's job
 * (bundle-cache.ts), so no adapter is trusted.
 */
import type { Readable } from 'node:stream';

export interface BundleObject {
  body: Readable;
  /** Content-Length when the source tells it (progress only; the manifest's size is what counts). */
  bytes?: number;
}

export interface BundleSource {
  /** The bundle's URI for logs and errors (no credentials in it). */
  readonly uri: string;
  /** Opens `name` (a path relative to the bundle, `/`-separated); throws BundleSourceError. */
  open(name: string): Promise<BundleObject>;
}

/** not_found and denied are final; unavailable (network, 5xx, a cut stream) is worth a retry. */
export type BundleSourceFailure = 'not_found' | 'denied' | 'unavailable';

export class BundleSourceError extends Error {
  constructor(
    readonly failure: BundleSourceFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BundleSourceError';
  }
}
