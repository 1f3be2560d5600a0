export * from './caption-model.port';
export * from './model.errors';
export { ModelModule } from './model.module';
export { ModelSettings } from './model.settings';
export { CaptionBatcher } from './caption-batcher';
export {
  decodeImage,
  decodeProbed,
  estimateDecodeBytes,
  probeImage,
  DEFAULT_DECODE_LIMITS,
  type ImageProbe,
  type DecodeLimits,
  type DecodedImage,
} from './preprocess/decode-image';
export { sniffImageFormat, type ImageFormat } from './preprocess/image-format';
