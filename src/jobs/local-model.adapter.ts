/** Embedded mode's ServedModel: the model loaded in this process, once it is ready. */
import type { CaptionModel, ModelInfo } from '../model/caption-model.port';
import type { ServedModel } from './served-model.port';

export class LocalModel implements ServedModel {
  constructor(private readonly model: CaptionModel) {}

  current(): Promise<ModelInfo | undefined> {
    return Promise.resolve(this.model.isReady() ? this.model.info() : undefined);
  }
}
