/**
 * Where the model bundle is loaded from: MODEL_PATH as it is, or, with MODEL_URI set, a verified copy
 * pulled into MODEL_CACHE_DIR (bundle-cache.ts). Runs in the model's start-up, so startup and readiness
 * stay false until the bundle is pulled, verified and loaded.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModelSettings } from '../model.settings';
import { BundleCache } from './bundle-cache';
import { createBundleSource, versionInUri } from './bundle-source.factory';

export interface LocalBundle {
  dir: string;
  /** True when this process has just checked every file's sha256 (the runtime need not again). */
  verified: boolean;
}

@Injectable()
export class ModelBundleService {
  private readonly logger = new Logger(ModelBundleService.name);

  constructor(@Inject(ModelSettings) private readonly settings: ModelSettings) {}

  async localBundle(): Promise<LocalBundle> {
    const uri = this.settings.MODEL_URI;
    if (uri === undefined) return { dir: this.settings.MODEL_PATH, verified: false };
    const source = createBundleSource(uri, {
      region: this.settings.AWS_REGION,
      forcePathStyle: this.settings.MODEL_S3_FORCE_PATH_STYLE,
    });
    const cache = new BundleCache(this.settings.MODEL_CACHE_DIR, { log: (m) => this.logger.log(m) });
    const pulled = await cache.pull(source, versionInUri(uri));
    return { dir: pulled.dir, verified: true };
  }
}
