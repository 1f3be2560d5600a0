export * from './caption-model.port';
export * from './model.errors';
export { ModelModule } from './model.module';
export { ModelSettings } from './model.settings';
export { CaptionBatcher } from './caption-batcher';
