/** BundleSource on S3 (GetObject under `s3://bucket/prefix/`), with the pod's IAM role. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { BundleSourceError, type BundleObject, type BundleSource } from './bundle-source.port';
import { s3Failure, type S3Location } from './s3-location';

export class S3BundleSource implements BundleSource {
  readonly uri: string;

  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
  ) {
    this.uri = `s3://${location.bucket}/${location.prefix}`;
  }

  async open(name: string): Promise<BundleObject> {
    const key = `${this.location.prefix}${name}`;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
      if (out.Body === undefined)
        throw new BundleSourceError('unavailable', `s3://${this.location.bucket}/${key}: empty response`);
      return { body: out.Body as Readable, bytes: out.ContentLength };
    } catch (err) {
      if (err instanceof BundleSourceError) throw err;
      throw s3Failure(err, `s3://${this.location.bucket}/${key}`);
    }
  }
}
