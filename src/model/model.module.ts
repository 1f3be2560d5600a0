/**
 * model: the model provider. Owns BLIP bundle loading and verification, preprocessing, the ONNX
 * sessions, decoding and dynamic batching. Exports CAPTION_MODEL (the port) and CaptionBatcher.
 * Imported only where inference runs: the worker, or the API in embedded mode.
 */
import { Module } from '@nestjs/common';
import { provideSettings } from '../config/provide-settings';
import { ModelBundleService } from './bundle/model-bundle.service';
import { CaptionBatcher } from './caption-batcher';
import { CAPTION_MODEL, type CaptionModel } from './caption-model.port';
import { ModelSettings } from './model.settings';
import { OnnxBlipModel } from './onnx-blip.model';

@Module({
  providers: [
    provideSettings(ModelSettings),
    ModelBundleService,
    OnnxBlipModel,
    { provide: CAPTION_MODEL, useExisting: OnnxBlipModel },
    {
      provide: CaptionBatcher,
      inject: [CAPTION_MODEL, ModelSettings],
      useFactory: (model: CaptionModel, s: ModelSettings): CaptionBatcher =>
        new CaptionBatcher(model, s.BATCH_MAX_SIZE, s.BATCH_MAX_WAIT_MS),
    },
  ],
  exports: [CAPTION_MODEL, CaptionBatcher, ModelSettings],
})
export class ModelModule {}
