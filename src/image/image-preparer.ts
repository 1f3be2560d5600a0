/**
 * From accepted bytes to what the rest of the pipeline needs: the sha256 of the original bytes (cache key,
 * response) and the image as the model takes it (decodeImage: format allowlist by magic bytes, header
 * checked against the pixel and frame limits before decoding, EXIF orientation, sRGB, first frame,
 * resize). Image errors become intake problems: 415 unsupported, 422 undecodable or too big.
 */
import { createHash } from 'node:crypto';
import {
  decodeProbed,
  estimateDecodeBytes,
  MODEL_IMAGE_SIZE,
  probeImage,
  type DecodedImage,
  type ImageProbe,
} from './decode-image';
import { describeNonImage, sniffImageFormat } from './image-format';
import { ImageError, ImageProblem } from './image.errors';

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
  maxFrames: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class ImagePreparer {
  constructor(private readonly limits: ImageLimits) {}

  /** Size and format checks that need no decoding (a 413 or 415 answers before any work). */
  precheck(bytes: Uint8Array): void {
    if (bytes.length === 0) throw ImageProblem.empty();
    if (bytes.length > this.limits.maxBytes) {
      throw ImageProblem.tooLarge(
        `The image is ${bytes.length} bytes; the limit is ${this.limits.maxBytes} bytes.`,
      );
    }
    if (sniffImageFormat(bytes) === undefined) {
      throw ImageProblem.unsupported(
        `Unsupported image format: the upload is ${describeNonImage(bytes)}. Send JPEG, PNG, WebP, GIF, AVIF/HEIF or TIFF.`,
      );
    }
  }

  /** Reads and checks the header (pixels, frames) without decoding; throws AppError (415/422). */
  async probe(bytes: Uint8Array): Promise<ImageProbe> {
    this.precheck(bytes);
    return this.mapped(() => probeImage(bytes, this.limits));
  }

  /** Estimated peak memory of decoding a probed image to `size` (decode-image.ts). */
  cost(probe: ImageProbe, size = MODEL_IMAGE_SIZE): number {
    return estimateDecodeBytes(probe, size);
  }

  /** Decodes a probed image to the model's input; throws AppError (422) if it cannot. */
  decode(bytes: Uint8Array, probe: ImageProbe, size = MODEL_IMAGE_SIZE): Promise<DecodedImage> {
    return this.mapped(() => decodeProbed(bytes, probe, size, this.limits));
  }

  /** Probes and decodes (no admission): for callers that bound concurrency themselves. */
  async prepare(bytes: Uint8Array, size = MODEL_IMAGE_SIZE): Promise<DecodedImage> {
    return this.decode(bytes, await this.probe(bytes), size);
  }

  private async mapped<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ImageError) throw ImageProblem.fromImageError(err);
      throw ImageProblem.undecodable(
        `The image could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
