/**
 * Coded errors of image intake and decoding. `ImageError` is what decoding throws (also in the CLI,
 * which has no HTTP); `ImageProblem` builds the AppErrors the API answers with. Statuses and titles come
 * from the application's one problem catalog.
 */
import { AppError } from '../common/app-error';
import { codedProblem } from '../common/problem/problem-catalog';

export enum ImageErrorCode {
  Empty = 'image.empty',
  UnsupportedFormat = 'image.unsupported_format',
  Undecodable = 'image.undecodable',
  TooManyPixels = 'image.too_many_pixels',
  TooManyFrames = 'image.too_many_frames',
}

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ImageError';
  }
}

export const ImageProblem = {
  badInput: (detail: string): AppError => new AppError(codedProblem('image.bad_input', detail)),
  empty: (): AppError => new AppError(codedProblem('image.empty', 'The image is empty (0 bytes).')),
  tooLarge: (detail: string): AppError => new AppError(codedProblem('image.too_large', detail)),
  unsupported: (detail: string): AppError => new AppError(codedProblem('image.unsupported_format', detail)),
  undecodable: (detail: string): AppError => new AppError(codedProblem('image.undecodable', detail)),
  tooManyPixels: (detail: string): AppError => new AppError(codedProblem('image.too_many_pixels', detail)),
  tooManyFrames: (detail: string): AppError => new AppError(codedProblem('image.too_many_frames', detail)),
  /** Decode memory stayed full for the whole admission wait: retry shortly. */
  decodeBusy: (detail: string, retryAfterSeconds: number): AppError =>
    new AppError(
      codedProblem('image.decode_busy', detail, { headers: { 'Retry-After': String(retryAfterSeconds) } }),
    ),
  urlRefused: (detail: string): AppError => new AppError(codedProblem('image_url.refused', detail)),
  urlFailed: (detail: string): AppError => new AppError(codedProblem('image_url.fetch_failed', detail)),
  urlTooLarge: (detail: string): AppError => new AppError(codedProblem('image_url.too_large', detail)),
  /** A decoding error as the API answers it: its code's status, its message as the detail. */
  fromImageError: (err: ImageError): AppError => new AppError(codedProblem(err.code, err.message)),
};
