/**
 * Image bytes -> size x size RGB (uint8, HWC) with sharp, the way BlipImageProcessor sees an image after
 * PIL's convert("RGB"): EXIF orientation applied, any colour space to sRGB, alpha dropped (not
 * composited), first frame of an animation, bicubic resize to the square without keeping the aspect.
 * Limits are checked from the header before anything is decoded.
 */
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { resizePool } from './resize-pool';
import { ImageError, ImageErrorCode } from './image.errors';
import { describeNonImage, sniffImageFormat, type ImageFormat } from './image-format';

export interface DecodeLimits {
  maxPixels: number;
  maxFrames: number;
}

export interface DecodedImage {
  /** size x size x 3, row-major RGB. */
  rgb: Uint8Array;
  size: number;
  /** Dimensions of the original image after EXIF orientation. */
  width: number;
  height: number;
  format: ImageFormat;
}

/**
 * Side of the square image BLIP's processors take (preprocessor_config.json `size`), for callers that
 * do not know the loaded bundle's yet; the model's own size wins wherever it is known.
 */
export const MODEL_IMAGE_SIZE = 384;

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxPixels: 50_000_000, maxFrames: 64 };

let sharpConfigured = false;

/** Once, at the first decode (not at import): one vips thread per pipeline, no operation cache. */
function configureSharp(): void {
  if (sharpConfigured) return;
  // Decoding happens on libuv's thread pool; one sharp pipeline per image needs no extra vips threads.
  sharp.concurrency(1);
  sharp.cache(false);
  sharpConfigured = true;
}

export async function decodeImage(
  bytes: Uint8Array,
  size = MODEL_IMAGE_SIZE,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): Promise<DecodedImage> {
  configureSharp();
  if (bytes.length === 0) throw new ImageError(ImageErrorCode.Empty, 'The image is empty (0 bytes).');
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new ImageError(
      ImageErrorCode.UnsupportedFormat,
      `Unsupported image format: the upload is ${describeNonImage(bytes)}. Send JPEG, PNG, WebP, GIF, AVIF/HEIF or TIFF.`,
    );
  }
  const input = { failOn: 'error' as const, limitInputPixels: false as const, pages: 1, page: 0 };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, input).metadata();
  } catch (err) {
    throw undecodable(err);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw undecodable(new Error('no dimensions in the header'));
  if (width * height > limits.maxPixels) {
    throw new ImageError(
      ImageErrorCode.TooManyPixels,
      `The image is ${width}x${height} (${width * height} pixels); the limit is ${limits.maxPixels} pixels.`,
    );
  }
  const frames = meta.pages ?? 1;
  if (frames > limits.maxFrames) {
    throw new ImageError(
      ImageErrorCode.TooManyFrames,
      `The image has ${frames} frames; the limit is ${limits.maxFrames}.`,
    );
  }
  try {
    const rgb = await toRgbSquare(bytes, meta, size, limits.maxPixels);
    const swapped = (meta.orientation ?? 1) >= 5;
    return {
      rgb,
      size,
      width: swapped ? height : width,
      height: swapped ? width : height,
      format,
    };
  } catch (err) {
    throw undecodable(err);
  }
}

/**
 * PIL's convert("RGB") ignores embedded ICC profiles of RGB and grey images, and BLIP was trained on
 * what it gives, so the profile is ignored here too; CMYK is converted through a profile (PIL's naive
 * CMYK formula gives wrong colours). sharp decodes, orients and drops alpha at full size; the resize is
 * Pillow's own bicubic (pil-resize.ts), so the pixels equal BlipImageProcessor's.
 */
async function toRgbSquare(
  bytes: Uint8Array,
  meta: Metadata,
  size: number,
  maxPixels: number,
): Promise<Uint8Array> {
  const input: SharpOptions = {
    failOn: 'warning',
    limitInputPixels: maxPixels,
    ignoreIcc: meta.space !== 'cmyk',
    // HEIF files name a primary image; libvips picks it when no page is given.
    ...(meta.format === 'heif' ? {} : { pages: 1, page: 0 }),
  };
  const { data, info } = await sharp(bytes, input)
    .autoOrient()
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new Error(`unexpected decoder output: ${info.channels} channels, ${data.length} bytes`);
  }
  const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return resizePool().resize(rgb, info.width, info.height, size, size);
}

function undecodable(err: unknown): ImageError {
  const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new ImageError(ImageErrorCode.Undecodable, `The image could not be decoded: ${reason}`, {
    cause: err,
  });
}
