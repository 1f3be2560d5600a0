/**
 * Coded errors of the model module (inference only: image errors belong to src/image). The statuses
 * clients see for these codes are in the application's problem catalog (common/problem).
 */
export enum ModelErrorCode {
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
