/**
 * S3 addresses of bundles and the one S3 client the puller and the publisher share: the SDK's default
 * credential chain (environment, IRSA web identity, EKS Pod Identity, ECS task role, instance profile)
 * and its own AWS_REGION / AWS_ENDPOINT_URL(_S3) handling; path-style addressing for S3-compatible servers.
 */
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { BundleSourceError } from './bundle-source.port';

export interface S3Location {
  bucket: string;
  /** Key prefix, '' or ending in '/'. */
  prefix: string;
}

/** Parses `s3://bucket/prefix/` (the prefix may be empty); undefined when it is not an s3 URI. */
export function parseS3Uri(uri: string): S3Location | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (m === null) return undefined;
  const path = (m[2] ?? '').replace(/^\/+/, '');
  return { bucket: m[1] as string, prefix: path === '' || path.endsWith('/') ? path : `${path}/` };
}

export function createS3Client(options: { region?: string; forcePathStyle: boolean }): S3Client {
  return new S3Client({
    forcePathStyle: options.forcePathStyle,
    // AWS_REGION is optional: a bucket in another region is followed through S3's redirect.
    region: options.region ?? 'us-east-1',
    followRegionRedirects: true,
    // A stalled connection or body fails (and the file is retried) instead of hanging the start-up.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  });
}

/** Maps an SDK failure to not_found / denied / unavailable, with the key and the service's code. */
export function s3Failure(err: unknown, what: string): BundleSourceError {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = err instanceof S3ServiceException ? err.name : (err as Error).name;
  const detail = `${what}: ${code}${status === undefined ? '' : ` (HTTP ${status})`} ${(err as Error).message}`;
  if (status === 404 || code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket')
    return new BundleSourceError('not_found', `${what} does not exist (${code})`, { cause: err });
  if (status === 401 || status === 403)
    return new BundleSourceError(
      'denied',
      `${what}: access denied (${code}); check the credentials and the IAM policy`,
      { cause: err },
    );
  return new BundleSourceError('unavailable', detail, { cause: err });
}
