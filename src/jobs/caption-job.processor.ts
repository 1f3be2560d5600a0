/**
 * Runs one caption job where inference lives (the worker, or the API in embedded mode): checks the cache
 * under the key of the model actually loaded, submits the prepared image to the CaptionBatcher (so
 * concurrent jobs form one batch), writes the answer to the cache and returns it as the job's result.
 */
import { Logger } from '@nestjs/common';
import type { CaptionCache } from '../cache/caption-cache.port';
import { captionCacheKey } from '../cache/cache-key';
import type { CaptionBatcher } from '../model/caption-batcher';
import type { CaptionModel } from '../model/caption-model.port';
import type { CaptionJobData, CaptionJobResult } from './caption-job.types';
import { JobPayloadError } from './job.errors';

/** What the queue adapters need from a processor (a fake in contract tests). */
export interface CaptionJobHandler {
  process(data: CaptionJobData): Promise<CaptionJobResult>;
}

export class CaptionJobProcessor implements CaptionJobHandler {
  private readonly logger = new Logger(CaptionJobProcessor.name);
  /** Model calls made for jobs (not cache answers): what "one inference" is counted by. */
  inferences = 0;

  constructor(
    private readonly model: CaptionModel,
    private readonly batcher: CaptionBatcher,
    private readonly cache: CaptionCache,
    private readonly cacheTtlSeconds: number,
  ) {}

  async process(data: CaptionJobData): Promise<CaptionJobResult> {
    const info = this.model.info();
    const key = captionCacheKey(data.sha256, info.version, data.options, data.scope);
    const rgb = Buffer.from(data.rgb, 'base64');
    if (data.size !== info.imageSize || rgb.length !== data.size * data.size * 3) {
      throw new JobPayloadError(
        `The job carries a ${data.size}px image (${rgb.length} bytes); the model takes ${info.imageSize}px RGB.`,
      );
    }
    // A recomputation (Cache-Control: no-cache) must not answer from the cache it is to overwrite.
    const cached = data.fresh === undefined ? await this.cache.get(key) : undefined;
    if (cached !== undefined) return cached;
    this.inferences++;
    const started = Date.now();
    const captions = await this.batcher.submit({
      image: {
        rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length),
        size: data.size,
        width: data.width,
        height: data.height,
      },
      options: data.options,
    });
    const result: CaptionJobResult = {
      captions,
      model: { id: info.id, version: info.version },
      image: { sha256: data.sha256, width: data.width, height: data.height },
    };
    await this.cache.set(key, result, this.cacheTtlSeconds);
    this.logger.log(
      `captioned image ${data.sha256.slice(0, 12)} in ${Date.now() - started} ms (request ${data.requestId ?? '-'}, inference #${this.inferences})`,
    );
    return result;
  }
}
