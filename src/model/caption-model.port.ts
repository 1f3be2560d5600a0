/** The port between captioning/jobs and the BLIP runtime (or a fake in unit tests). */
export const CAPTION_MODEL = Symbol('CAPTION_MODEL');

/** Decoding options; every field falls back to the bundle's generation settings. */
export interface DecodeOptions {
  /** Conditional captioning prefix, e.g. "a picture of". The caption text starts with it. */
  prompt?: string;
  /** How many distinct captions to return (1-5). More than 1 implies beam search. */
  numCaptions?: number;
  numBeams?: number;
  maxNewTokens?: number;
  minLength?: number;
  lengthPenalty?: number;
  repetitionPenalty?: number;
}

export interface Caption {
  text: string;
  /** exp(mean log-probability of the generated tokens, prompt excluded), in (0, 1]. */
  confidence: number;
}

/** One image's decoded pixels, ready for the encoder. */
export interface PreparedImage {
  /** Float32 CHW, 3 x size x size, normalized. */
  pixelValues: Float32Array;
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
  preprocessing: Record<string, unknown>;
  generation: Record<string, unknown>;
}

export interface CaptionModel {
  info(): ModelInfo;
  /** Decodes image bytes into model input (EXIF orientation, sRGB, first frame, 384x384 bicubic). */
  prepare(bytes: Uint8Array): Promise<PreparedImage>;
  /** Captions a batch: one encoder call and one decoding loop; per-request results as if run alone. */
  caption(requests: CaptionRequest[]): Promise<Caption[][]>;
  isReady(): boolean;
}
