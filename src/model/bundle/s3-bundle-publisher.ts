/**
 * Publishes a local bundle to S3 under `<prefix><version>/`: every file is verified against the manifest
 * first, uploaded with its sha256 (S3 checks it on arrival: x-amz-checksum-sha256), and manifest.json goes
 * last, so a reader never sees a half-published version. Re-publishing skips the objects already there
 * with the manifest's size (S3 checked their sha256 when they arrived; the workers check it again on
 * every pull); a different manifest under the same version is refused (versions are immutable).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ModelError, ModelErrorCode } from '../model.errors';
import { BundleSourceError } from './bundle-source.port';
import { bundleFiles } from './bundle-cache';
import { parseManifest, verifyBundleFiles } from './manifest';
import { s3Failure, type S3Location } from './s3-location';

/** Above this one PUT is not enough (S3's single-request limit). */
const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

export interface PublishResult {
  /** The MODEL_URI of the published version. */
  uri: string;
  version: string;
  uploaded: number;
  skipped: number;
}

const base64OfHex = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

export class S3BundlePublisher {
  constructor(
    private readonly client: S3Client,
    private readonly log: (message: string) => void,
  ) {}

  async publish(dir: string, to: S3Location): Promise<PublishResult> {
    const manifestBytes = await readFile(join(dir, 'manifest.json')).catch((err: unknown) => {
      throw new ModelError(ModelErrorCode.BundleInvalid, `Model bundle ${dir}: manifest.json is missing`, {
        cause: err,
      });
    });
    const manifest = parseManifest(manifestBytes.toString('utf8'), dir);
    const files = bundleFiles(manifest, dir);
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(String(manifest.version)))
      throw new ModelError(
        ModelErrorCode.BundleInvalid,
        `Model bundle ${dir}: unusable version ${String(manifest.version)}`,
      );
    this.log(`verifying ${files.length} files of ${dir} against its manifest`);
    await verifyBundleFiles(dir, manifest);
    for (const [name, f] of files) {
      if (f.bytes > MAX_SINGLE_PUT_BYTES)
        throw new ModelError(
          ModelErrorCode.BundleInvalid,
          `${name} is larger than 5 GiB, S3's single PUT limit`,
        );
    }

    const prefix = `${to.prefix}${manifest.version}/`;
    const uri = `s3://${to.bucket}/${prefix}`;
    const published = await this.getIfExists(to.bucket, `${prefix}manifest.json`);
    if (published !== undefined && !published.equals(manifestBytes))
      throw new ModelError(
        ModelErrorCode.BundleInvalid,
        `${uri}manifest.json exists with other content: a published version is immutable (export a new version)`,
      );

    const existing = await this.sizes(to.bucket, prefix);
    let uploaded = 0;
    let skipped = 0;
    for (const [name, f] of files) {
      const key = `${prefix}${name}`;
      if (existing.get(key) === f.bytes) {
        skipped++;
        continue;
      }
      const started = Date.now();
      await this.put(to.bucket, key, {
        Body: createReadStream(join(dir, name)),
        ContentLength: f.bytes,
        ChecksumSHA256: base64OfHex(f.sha256),
        Metadata: { sha256: f.sha256 },
      });
      uploaded++;
      this.log(
        `${name}: ${(f.bytes / 1e6).toFixed(1)} MB uploaded in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    // Last: once it is there, the version is complete.
    if (published === undefined) {
      await this.put(to.bucket, `${prefix}manifest.json`, {
        Body: manifestBytes,
        ContentLength: manifestBytes.length,
        ContentType: 'application/json',
        ChecksumSHA256: createHash('sha256').update(manifestBytes).digest('base64'),
      });
      uploaded++;
    } else skipped++;
    this.log(
      `published ${manifest.version} at ${uri}: ${uploaded} objects uploaded, ${skipped} already there`,
    );
    return { uri, version: manifest.version, uploaded, skipped };
  }

  /** Size of every object under the prefix (ListBucket: HEAD of a missing key is a 403 without it). */
  private async sizes(bucket: string, prefix: string): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.client },
        { Bucket: bucket, Prefix: prefix },
      )) {
        for (const o of page.Contents ?? []) if (o.Key !== undefined) sizes.set(o.Key, o.Size ?? -1);
      }
    } catch (err) {
      throw s3Failure(err, `s3://${bucket}/${prefix}`);
    }
    return sizes;
  }

  private async getIfExists(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    } catch (err) {
      const failure = s3Failure(err, `s3://${bucket}/${key}`);
      if (failure.failure === 'not_found') return undefined;
      throw failure;
    }
  }

  private async put(
    bucket: string,
    key: string,
    object: Omit<ConstructorParameters<typeof PutObjectCommand>[0], 'Bucket' | 'Key'>,
  ): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, ...object }));
    } catch (err) {
      throw err instanceof BundleSourceError ? err : s3Failure(err, `s3://${bucket}/${key}`);
    }
  }
}
