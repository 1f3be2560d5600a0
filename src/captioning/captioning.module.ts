/**
 * captioning: POST /api/v1/caption, GET /api/v1/caption/:job_id, GET /api/v1/models and the use case
 * (intake -> hash -> cache -> single-flight -> enqueue/join -> sync wait or 202). The adapters follow
 * RedisSettings: REDIS_URL set = queue mode (BullMQ, Redis cache, no model in this process); unset =
 * embedded mode (in-process jobs with the model loaded here, in-memory cache).
 */
import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { ImageModule } from '../image/image.module';
import { JobsModule } from '../jobs/jobs.module';
import { CaptionController } from './caption.controller';
import { CaptionRequestParser } from './caption-request.parser';
import { CaptionService } from './caption.service';
import { ModelsController } from './models.controller';

@Module({
  imports: [ImageModule, CacheModule, IdempotencyModule, JobsModule.forApi()],
  controllers: [CaptionController, ModelsController],
  providers: [CaptionRequestParser, CaptionService],
  exports: [CaptionService],
})
export class CaptioningModule {}
