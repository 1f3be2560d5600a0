export * from './caption-model.port';
export * from './model.errors';
export { ModelModule } from './model.module';
export { ModelSettings } from './model.settings';
export { CaptionBatcher } from './caption-batcher';
export {
  decodeImage,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type DecodedImage,
} from './preprocess/decode-image';
export { sniffImageFormat, type ImageFormat } from './preprocess/image-format';
