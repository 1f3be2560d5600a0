/**
 * CaptionModel adapter on the BLIP runtime, which runs in a worker thread (onnxruntime-node's run()
 * holds its thread for the whole graph). Loads (MODEL_PATH, or pulled from MODEL_URI), verifies and warms
 * the bundle at module init; a bundle that is missing or does not match its manifest fails start-up with the
 * file named.
 */
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Caption, CaptionModel, CaptionRequest, ModelInfo } from './caption-model.port';
import { ModelBundleService } from './bundle/model-bundle.service';
import { ModelError, ModelErrorCode } from './model.errors';
import { ModelSettings } from './model.settings';
import { ThreadedRuntime } from './thread/threaded-runtime';

@Injectable()
export class OnnxBlipModel implements CaptionModel, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OnnxBlipModel.name);
  private runtime?: ThreadedRuntime;
  private ready = false;

  constructor(
    @Inject(ModelSettings) private readonly settings: ModelSettings,
    @Inject(ModelBundleService) private readonly bundles: ModelBundleService,
  ) {}

  async onModuleInit(): Promise<void> {
    const bundle = await this.bundles.localBundle();
    const started = Date.now();
    this.runtime = new ThreadedRuntime(bundle.dir, {
      variant: this.settings.MODEL_VARIANT,
      executionProvider: this.settings.EXECUTION_PROVIDER,
      intraOpThreads: this.settings.ORT_INTRA_OP_THREADS,
      interOpThreads: this.settings.ORT_INTER_OP_THREADS,
      allowSpinning: this.settings.ORT_ALLOW_SPINNING,
      // A pulled bundle was hashed file by file a moment ago.
      skipVerify: bundle.verified,
    });
    const info = await this.runtime.start();
    this.logger.log(
      `Loaded ${info.id} ${info.version} (${info.variant}, ${info.executionProvider}) from ${bundle.dir} in ${Date.now() - started} ms`,
    );
    if (this.settings.MODEL_WARMUP) {
      const warm = Date.now();
      const size = info.imageSize;
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
    await this.runtime?.close();
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

  private loaded(): ThreadedRuntime {
    if (this.runtime === undefined)
      throw new ModelError(ModelErrorCode.BundleInvalid, 'The model is not loaded yet.');
    return this.runtime;
  }
}
