/** The image module's one entry point for the use case: bytes from any transport, then prepared. */
import { availableParallelism } from 'node:os';
import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { MODEL_IMAGE_SIZE, type DecodedImage } from './decode-image';
import { emptyPolicy, parseAddressRules } from './address-policy';
import { decodeStrictBase64 } from './base64-image';
import { ImageProblem } from './image.errors';
import { ImageSettings } from './image.settings';
import { ImagePreparer, sha256Hex } from './image-preparer';
import { readMultipartImage, type MultipartImage } from './multipart-image.reader';
import type { Resolver } from './safe-lookup';
import { Semaphore } from './semaphore';
import { UrlImageFetcher } from './url-image-fetcher';

/** Optional injection token: a DNS resolver for image_url (tests inject one so no packet leaves). */
export const URL_RESOLVER = Symbol('URL_RESOLVER');

export type ImageSource = { kind: 'base64'; text: string } | { kind: 'url'; url: string };

export interface AcceptedImage {
  bytes: Buffer;
  sha256: string;
}

@Injectable()
export class ImageIntake implements OnModuleDestroy {
  private readonly preparer: ImagePreparer;
  private readonly fetcher: UrlImageFetcher;
  private readonly decodes = new Semaphore(Math.max(2, Math.min(4, availableParallelism())));

  constructor(
    @Inject(ImageSettings) private readonly settings: ImageSettings,
    @Optional() @Inject(URL_RESOLVER) resolver?: Resolver,
  ) {
    this.preparer = new ImagePreparer({
      maxBytes: settings.MAX_UPLOAD_BYTES,
      maxPixels: settings.MAX_IMAGE_PIXELS,
      maxFrames: settings.MAX_IMAGE_FRAMES,
    });
    const policy = emptyPolicy();
    policy.allow = parseAddressRules(settings.URL_FETCH_ALLOWLIST);
    policy.deny = parseAddressRules(settings.URL_FETCH_DENYLIST);
    this.fetcher = new UrlImageFetcher({
      policy,
      maxBytes: settings.URL_FETCH_MAX_BYTES,
      maxRedirects: settings.URL_FETCH_MAX_REDIRECTS,
      timeoutMs: settings.URL_FETCH_TIMEOUT_MS,
      resolver,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.fetcher.close();
  }

  readMultipart(req: FastifyRequest, fieldNames: readonly string[]): Promise<MultipartImage> {
    return readMultipartImage(req, {
      maxFileBytes: this.settings.MAX_UPLOAD_BYTES,
      fieldNames,
      maxFieldBytes: 1024,
    });
  }

  /** Bytes of a JSON source (base64 decoded, URL fetched), size-checked, hashed, format-sniffed. */
  async accept(source: ImageSource | Buffer): Promise<AcceptedImage> {
    const bytes = Buffer.isBuffer(source) ? source : await this.load(source);
    this.preparer.precheck(bytes);
    return { bytes, sha256: sha256Hex(bytes) };
  }

  /**
   * Decodes for the model. A decode holds the full-size RGB image (up to MAX_IMAGE_PIXELS x 3 bytes)
   * until it is resized, so only a few run at once: a burst of large uploads waits instead of
   * multiplying that memory.
   */
  prepare(bytes: Uint8Array, size = MODEL_IMAGE_SIZE): Promise<DecodedImage> {
    return this.decodes.run(() => this.preparer.prepare(bytes, size));
  }

  private async load(source: ImageSource): Promise<Buffer> {
    if (source.kind === 'base64') return decodeStrictBase64(source.text, this.settings.MAX_UPLOAD_BYTES);
    if (!this.settings.URL_FETCH_ENABLED)
      throw ImageProblem.urlRefused('image_url is disabled on this server.');
    return this.fetcher.fetch(source.url);
  }
}
