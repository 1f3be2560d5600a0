/** The port between captioning/jobs and the BLIP runtime (or a fake in unit tests). */
export const CAPTION_MODEL = Symbol('CAPTION_MODEL');

import type { GenerationOptions } from './generation-options';

export * from './generation-options';

/**
 * Decoding options: the prompt plus the generation options, whose defaults and bounds are
 * GENERATION_BOUNDS (generation-options.ts). decoding=sample without a seed uses seed 0: the API and the
 * CLI always pass the seed derived from the image.
 */
export interface DecodeOptions extends GenerationOptions {
  /** Conditional captioning prefix, e.g. "a picture of". The caption text starts with it. */
  prompt?: string;
}

export interface Caption {
  text: string;
  /** exp(mean log-probability of the generated tokens, prompt excluded), in (0, 1]. */
  confidence: number;
}

/**
 * One image as the model takes it: decodeImage() output (src/image/decode-image.ts), i.e.
 * size x size x 3 RGB uint8 after EXIF orientation, sRGB conversion and the bicubic resize. Small
 * (442 KB at 384) so it can travel in a job; the model normalizes it.
 */
export interface PreparedImage {
  rgb: Uint8Array;
  size: number;
  width: number;
  height: number;
}

export interface CaptionRequest {
  image: PreparedImage;
  options: DecodeOptions;
}

export interface ModelInfo {
  id: string;
  revision: string;
  version: string;
  variant: 'fp32' | 'int8';
  executionProvider: string;
  /** Side of the square image the model takes (pass it to decodeImage). */
  imageSize: number;
  preprocessing: Record<string, unknown>;
  generation: Record<string, unknown>;
}

export interface CaptionModel {
  info(): ModelInfo;
  /** Captions a batch: one encoder call and one decoding loop; per-request results as if run alone. */
  caption(requests: CaptionRequest[]): Promise<Caption[][]>;
  isReady(): boolean;
}
