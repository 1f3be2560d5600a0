/**
 * The captioning use case: intake -> sha256 -> cache (hit: 200 cached) -> single-flight of identical
 * misses -> prepare + enqueue (or join) -> sync wait up to SYNC_TIMEOUT_MS -> 200, else 202 with a job
 * id owned by the caller. Also job status and the model description.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { catalogEntry, codedProblem } from '../common/problem/problem-catalog';
import { CAPTION_CACHE, type CachedCaptions, type CaptionCache } from '../cache/caption-cache.port';
import { captionCacheKey, normalizeOptions, withDerivedSeed } from '../cache/cache-key';
import { SingleFlight } from '../cache/single-flight';
import { ImageIntake } from '../image/image-intake.service';
import { MODEL_IMAGE_SIZE } from '../image/decode-image';
import type { CaptionJobData, JobFailure, JobState } from '../jobs/caption-job.types';
import { queueUnavailable } from '../jobs/job.errors';
import { JobSettings } from '../jobs/job.settings';
import { JOB_QUEUE, type EnqueuedJob, type JobQueue } from '../jobs/job-queue.port';
import { generationOptionsDescription } from '../model';
import type { CaptionCommand } from './caption-request.parser';
import type {
  CaptionAcceptedDto,
  CaptionSuccessDto,
  JobStatusDto,
  ModelsDto,
} from './dto/caption-response.dto';

/** Key version used before any worker announced its model: it can never hit a worker-written entry. */
const UNKNOWN_VERSION = 'unknown';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function success(value: CachedCaptions, cached: boolean): CaptionSuccessDto {
  return { status: 'success', captions: value.captions, model: value.model, cached, image: value.image };
}

export function notFound(): AppError {
  return new AppError(codedProblem('job.not_found', 'No such job.'));
}

@Injectable()
export class CaptionService {
  private readonly flights = new SingleFlight<EnqueuedJob>();

  constructor(
    private readonly intake: ImageIntake,
    @Inject(CAPTION_CACHE) private readonly cache: CaptionCache,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(JobSettings) private readonly settings: JobSettings,
  ) {}

  async caption(
    command: CaptionCommand,
    subject: string,
    requestId?: string,
  ): Promise<CaptionSuccessDto | CaptionAcceptedDto> {
    const { bytes, sha256 } = await this.intake.accept(
      command.image.kind === 'bytes' ? command.image.bytes : command.image,
    );
    const options = withDerivedSeed(normalizeOptions(command.options), sha256);
    const model = await this.queue.model();
    const key = captionCacheKey(sha256, model?.version ?? UNKNOWN_VERSION, options);
    if (model !== undefined) {
      const hit = await this.cache.get(key);
      if (hit !== undefined) return success(hit, true);
    }
    if (!this.queue.available()) throw queueUnavailable();
    // Identical misses in this process share one decode and one enqueue; across replicas, the job id
    // derived from the key joins them in the queue.
    const job = await this.flights.run(key, async () => {
      const image = await this.intake.prepare(bytes, model?.imageSize ?? MODEL_IMAGE_SIZE);
      const data: CaptionJobData = {
        rgb: Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength).toString('base64'),
        size: image.size,
        width: image.width,
        height: image.height,
        sha256,
        options,
        cacheKey: key,
        modelVersion: model?.version ?? '',
        requestId,
        enqueuedAt: Date.now(),
      };
      return this.queue.enqueue(data);
    }).promise;
    if (!command.async) {
      const state = await this.queue.waitForResult(job, this.settings.SYNC_TIMEOUT_MS);
      if (state.status === 'success') return success(state.result, false);
      if (state.status === 'failed') throw failedProblem(state.error);
    }
    const jobId = await this.queue.claim(job, subject, key);
    return {
      status: 'processing',
      job_id: jobId,
      estimated_time_seconds: await this.queue.estimateSeconds(),
    };
  }

  async status(jobId: string, subject: string): Promise<JobStatusDto> {
    if (!UUID.test(jobId)) throw notFound();
    const state: JobState | undefined = await this.queue.status(jobId, subject);
    if (state === undefined) throw notFound();
    switch (state.status) {
      case 'success':
        return { job_id: jobId, ...success(state.result, false) };
      case 'failed':
        return {
          status: 'failed',
          job_id: jobId,
          error: { code: state.error.code, message: state.error.message },
        };
      case 'gone': {
        const hit = state.cacheKey === '' ? undefined : await this.cache.get(state.cacheKey);
        if (hit !== undefined) return { job_id: jobId, ...success(hit, true) };
        return {
          status: 'failed',
          job_id: jobId,
          error: {
            code: 'job.expired',
            message: 'The job finished too long ago: its result is no longer kept.',
          },
        };
      }
      default:
        return {
          status: 'processing',
          job_id: jobId,
          estimated_time_seconds: await this.queue.estimateSeconds(),
        };
    }
  }

  async models(): Promise<ModelsDto> {
    const info = await this.queue.model();
    if (info === undefined) {
      throw new AppError(
        codedProblem(
          'model.unavailable',
          'No model is loaded yet (in queue mode: no worker has announced one).',
          { headers: { 'Retry-After': '5' } },
        ),
      );
    }
    return {
      models: [
        {
          id: info.id,
          version: info.version,
          revision: info.revision,
          variant: info.variant,
          execution_provider: info.executionProvider,
          image_size: info.imageSize,
          preprocessing: info.preprocessing,
          generation: info.generation,
          options: generationOptionsDescription(),
        },
      ],
    };
  }
}

/**
 * A synchronous request whose job failed: the status the catalog gives its code when that is the
 * input's fault (4xx) or a dependency (503); 422 caption.failed when inference kept failing on it.
 */
export function failedProblem(error: JobFailure): AppError {
  const entry = catalogEntry(error.code);
  if (entry !== undefined && (entry.status < 500 || entry.status === 503)) {
    return new AppError({
      code: error.code,
      status: entry.status,
      title: entry.title,
      detail: error.message,
    });
  }
  return new AppError(codedProblem('caption.failed', error.message));
}
