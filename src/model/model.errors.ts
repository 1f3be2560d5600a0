/** Coded errors of the model module; the HTTP layer maps codes to problem+json statuses. */
export enum ModelErrorCode {
  EmptyImage = 'image.empty',
  UnsupportedFormat = 'image.unsupported_format',
  Undecodable = 'image.undecodable',
  TooManyPixels = 'image.too_many_pixels',
  TooManyFrames = 'image.too_many_frames',
  BadOptions = 'model.bad_options',
  BundleInvalid = 'model.bundle_invalid',
  InferenceFailed = 'model.inference_failed',
}

export class ModelError extends Error {
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelError';
  }
}
