/** The image module's one entry point for the use case: bytes from any transport, then prepared. */
import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { MODEL_IMAGE_SIZE, type DecodedImage } from './decode-image';
import { emptyPolicy, parseAddressRules } from './address-policy';
import { decodeStrictBase64 } from './base64-image';
import { ImageProblem } from './image.errors';
import { ImageSettings } from './image.settings';
import { ImagePreparer, sha256Hex } from './image-preparer';
import { parseMultipartImage, type MultipartImage } from './multipart-image.reader';
import type { Resolver } from './safe-lookup';
import { DecodeBudget, DecodeBudgetTimeout } from './decode-budget';
import { UrlImageFetcher } from './url-image-fetcher';

/** Optional injection token: a DNS resolver for image_url (tests inject one so no packet leaves). */
export const URL_RESOLVER = Symbol('URL_RESOLVER');

/** Retry-After of a 503 for decode memory: about one large decode. */
const DECODE_RETRY_AFTER_SECONDS = 5;

export type ImageSource = { kind: 'base64'; text: string } | { kind: 'url'; url: string };

export interface AcceptedImage {
  bytes: Buffer;
  sha256: string;
}

@Injectable()
export class ImageIntake implements OnModuleDestroy {
  private readonly preparer: ImagePreparer;
  private readonly fetcher: UrlImageFetcher;
  private readonly decodes: DecodeBudget;

  constructor(
    @Inject(ImageSettings) private readonly settings: ImageSettings,
    @Optional() @Inject(URL_RESOLVER) resolver?: Resolver,
  ) {
    this.preparer = new ImagePreparer({
      maxBytes: settings.MAX_UPLOAD_BYTES,
      maxPixels: settings.MAX_IMAGE_PIXELS,
      maxFrames: settings.MAX_IMAGE_FRAMES,
    });
    this.decodes = new DecodeBudget(settings.decodeMemoryBudgetBytes, settings.DECODE_ADMISSION_TIMEOUT_MS);
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

  /** The image and fields of a multipart/form-data body (received whole by Fastify). */
  readMultipart(
    body: Buffer,
    contentType: string | undefined,
    fieldNames: readonly string[],
  ): MultipartImage {
    return parseMultipartImage(body, contentType, {
      maxFileBytes: this.settings.MAX_UPLOAD_BYTES,
      fieldNames,
      // A hard cap on any text field, above every field's own limit (webhook_url: 2048 characters), so
      // a field over its limit is the DTO's 400 naming it, not a 413 from the form reader.
      maxFieldBytes: 4096,
    });
  }

  /** Bytes of a JSON source (base64 decoded, URL fetched), size-checked, hashed, format-sniffed. */
  async accept(source: ImageSource | Buffer): Promise<AcceptedImage> {
    const bytes = Buffer.isBuffer(source) ? source : await this.load(source);
    this.preparer.precheck(bytes);
    return { bytes, sha256: sha256Hex(bytes) };
  }

  /**
   * Decodes for the model, admitted by memory: the header gives the decode's peak memory (a 49 MP
   * image needs about 250 MB), and decodes run only while their sum fits DECODE_MEMORY_BUDGET_MB. An
   * image that needs more than the whole budget is refused (422); a request that finds no room within
   * DECODE_ADMISSION_TIMEOUT_MS gets 503 with Retry-After.
   */
  async prepare(bytes: Uint8Array, size = MODEL_IMAGE_SIZE): Promise<DecodedImage> {
    const probe = await this.preparer.probe(bytes);
    const cost = this.preparer.cost(probe, size);
    const mb = (n: number): number => Math.ceil(n / (1024 * 1024));
    if (!this.decodes.fits(cost)) {
      throw ImageProblem.tooManyPixels(
        `The image is ${probe.meta.width}x${probe.meta.height}; decoding it needs about ${mb(cost)} MB and this server decodes at most ${mb(this.decodes.budget)} MB at once.`,
      );
    }
    try {
      return await this.decodes.run(cost, () => this.preparer.decode(bytes, probe, size));
    } catch (err) {
      if (!(err instanceof DecodeBudgetTimeout)) throw err;
      throw ImageProblem.decodeBusy(
        `Every decode slot was busy for ${err.waitedMs} ms (this image needs about ${mb(cost)} MB of the ${mb(this.decodes.budget)} MB decode budget); retry shortly.`,
        DECODE_RETRY_AFTER_SECONDS,
      );
    }
  }

  private async load(source: ImageSource): Promise<Buffer> {
    if (source.kind === 'base64') return decodeStrictBase64(source.text, this.settings.MAX_UPLOAD_BYTES);
    if (!this.settings.URL_FETCH_ENABLED)
      throw ImageProblem.urlRefused('image_url is disabled on this server.');
    return this.fetcher.fetch(source.url);
  }
}
