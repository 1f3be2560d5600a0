/** Picks the BundleSource adapter for a MODEL_URI by its scheme (s3://, https://, file://). */
import type { BundleSource } from './bundle-source.port';
import { HttpsBundleSource } from './https-bundle-source.adapter';
import { LocalBundleSource } from './local-bundle-source.adapter';
import { S3BundleSource } from './s3-bundle-source.adapter';
import { createS3Client, parseS3Uri } from './s3-location';

export interface BundleSourceOptions {
  region?: string;
  forcePathStyle: boolean;
}

export function createBundleSource(uri: string, options: BundleSourceOptions): BundleSource {
  if (uri.startsWith('s3://')) {
    const location = parseS3Uri(uri);
    if (location === undefined) throw new Error(`MODEL_URI ${uri} is not s3://bucket/prefix/`);
    return new S3BundleSource(createS3Client(options), location);
  }
  if (uri.startsWith('file://')) return new LocalBundleSource(uri);
  return new HttpsBundleSource(uri);
}

/**
 * The version a URI names when its last path segment is a bundle version (16 hex, the publisher's
 * layout `<prefix>/<version>/`): the pulled manifest must then say the same.
 */
export function versionInUri(uri: string): string | undefined {
  const last = uri.replace(/\/+$/, '').split('/').pop() ?? '';
  return /^[0-9a-f]{16}$/.test(last) ? last : undefined;
}
