/** Coded problems of image intake, rendered as problem+json by the global filter. */
import { AppError } from '../common/app-error';
import { ModelError, ModelErrorCode } from '../model/model.errors';

export const ImageProblem = {
  badInput: (detail: string): AppError =>
    new AppError({ code: 'image.bad_input', status: 400, title: 'Bad image input', detail }),
  empty: (): AppError =>
    new AppError({
      code: 'image.empty',
      status: 400,
      title: 'Empty image',
      detail: 'The image is empty (0 bytes).',
    }),
  tooLarge: (detail: string): AppError =>
    new AppError({ code: 'image.too_large', status: 413, title: 'Image too large', detail }),
  unsupported: (detail: string): AppError =>
    new AppError({
      code: 'image.unsupported_format',
      status: 415,
      title: 'Unsupported image format',
      detail,
    }),
  undecodable: (detail: string): AppError =>
    new AppError({ code: 'image.undecodable', status: 422, title: 'Undecodable image', detail }),
  tooManyPixels: (detail: string): AppError =>
    new AppError({ code: 'image.too_many_pixels', status: 422, title: 'Image has too many pixels', detail }),
  tooManyFrames: (detail: string): AppError =>
    new AppError({ code: 'image.too_many_frames', status: 422, title: 'Image has too many frames', detail }),
  /** Decode memory stayed full for the whole admission wait: retry shortly. */
  decodeBusy: (detail: string, retryAfterSeconds: number): AppError =>
    new AppError({
      code: 'image.decode_busy',
      status: 503,
      title: 'Server busy decoding images',
      detail,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    }),
  urlRefused: (detail: string): AppError =>
    new AppError({ code: 'image_url.refused', status: 400, title: 'image_url refused', detail }),
  urlFailed: (detail: string): AppError =>
    new AppError({
      code: 'image_url.fetch_failed',
      status: 400,
      title: 'image_url could not be fetched',
      detail,
    }),
  urlTooLarge: (detail: string): AppError =>
    new AppError({ code: 'image_url.too_large', status: 413, title: 'Image at image_url too large', detail }),
};

/** The model's preprocessing errors, as intake problems with the statuses of the API contract. */
export function fromModelError(err: ModelError): AppError {
  switch (err.code) {
    case ModelErrorCode.EmptyImage:
      return ImageProblem.empty();
    case ModelErrorCode.UnsupportedFormat:
      return ImageProblem.unsupported(err.message);
    case ModelErrorCode.TooManyPixels:
      return ImageProblem.tooManyPixels(err.message);
    case ModelErrorCode.TooManyFrames:
      return ImageProblem.tooManyFrames(err.message);
    default:
      return ImageProblem.undecodable(err.message);
  }
}
