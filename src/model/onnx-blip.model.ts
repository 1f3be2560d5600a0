/** CaptionModel adapter on the BLIP runtime: loads, verifies and warms the bundle at module init. */
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { BlipRuntime } from './blip-runtime';
import type { Caption, CaptionModel, CaptionRequest, ModelInfo } from './caption-model.port';
import { ModelError, ModelErrorCode } from './model.errors';
import { ModelSettings } from './model.settings';

@Injectable()
export class OnnxBlipModel implements CaptionModel, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OnnxBlipModel.name);
  private runtime?: BlipRuntime;
  private ready = false;

  constructor(@Inject(ModelSettings) private readonly settings: ModelSettings) {}

  async onModuleInit(): Promise<void> {
    const s = this.settings;
    const started = Date.now();
    this.runtime = await BlipRuntime.load(s.MODEL_PATH, {
      variant: s.MODEL_VARIANT,
      executionProvider: s.EXECUTION_PROVIDER,
      intraOpThreads: s.ORT_INTRA_OP_THREADS,
      interOpThreads: s.ORT_INTER_OP_THREADS,
    });
    const info = this.runtime.info();
    this.logger.log(
      `Loaded ${info.id} ${info.version} (${info.variant}, ${info.executionProvider}) from ${s.MODEL_PATH} in ${Date.now() - started} ms`,
    );
    if (s.MODEL_WARMUP) {
      const warm = Date.now();
      const size = this.runtime.imageSize;
      await this.runtime.caption([
        {
          image: { rgb: new Uint8Array(size * size * 3).fill(128), size, width: size, height: size },
          options: {},
        },
      ]);
      this.logger.log(`Warm-up caption in ${Date.now() - warm} ms`);
    }
    this.ready = true;
  }

  async onModuleDestroy(): Promise<void> {
    this.ready = false;
    await this.runtime?.release();
  }

  isReady(): boolean {
    return this.ready;
  }

  info(): ModelInfo {
    return this.loaded().info();
  }

  caption(requests: CaptionRequest[]): Promise<Caption[][]> {
    return this.loaded().caption(requests);
  }

  private loaded(): BlipRuntime {
    if (this.runtime === undefined) {
      throw new ModelError(ModelErrorCode.BundleInvalid, 'The model is not loaded yet.');
    }
    return this.runtime;
  }
}
