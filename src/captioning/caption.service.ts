/**
 * The captioning use case: intake -> sha256 -> cache (hit: 200 cached) -> single-flight of identical
 * misses -> prepare + enqueue (or join) -> sync wait up to SYNC_TIMEOUT_MS -> 200, else 202 with a job
 * id owned by the caller. Also job status and the model description.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { CAPTION_CACHE, type CachedCaptions, type CaptionCache } from '../cache/caption-cache.port';
import { captionCacheKey, normalizeOptions } from '../cache/cache-key';
import { SingleFlight } from '../cache/single-flight';
import { ImageIntake } from '../image/image-intake.service';
import { MODEL_IMAGE_SIZE } from '../image/image-preparer';
import type { CaptionJobData, JobFailure, JobView } from '../jobs/caption-job.types';
import { queueUnavailable } from '../jobs/job.errors';
import { JobSettings } from '../jobs/job.settings';
import { JOB_QUEUE, type EnqueuedJob, type JobQueue } from '../jobs/job-queue.port';
import { buildJobDocument } from '../jobs/job-document';
import { SERVED_MODEL, type ServedModel } from '../jobs/served-model.port';
import { ModelErrorCode } from '../model/model.errors';
import type { CaptionCommand } from './caption-request.parser';

import type {
  CaptionAcceptedDto,
  CaptionSuccessDto,
  JobStatusDto,
  ModelsDto,
} from './dto/caption-response.dto';

/** Key version used before any worker announced its model: it can never hit a worker-written entry. */
const UNKNOWN_VERSION = 'unknown';

/** Failure codes of a job -> the status a synchronous answer carries. */
const FAILURE_STATUS: Record<string, number> = {
  [ModelErrorCode.EmptyImage]: 400,
  [ModelErrorCode.UnsupportedFormat]: 415,
  [ModelErrorCode.Undecodable]: 422,
  [ModelErrorCode.TooManyPixels]: 422,
  [ModelErrorCode.TooManyFrames]: 422,
  [ModelErrorCode.BadOptions]: 400,
  [ModelErrorCode.BundleInvalid]: 503,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function success(value: CachedCaptions, cached: boolean): CaptionSuccessDto {
  return { status: 'success', captions: value.captions, model: value.model, cached, image: value.image };
}

export function notFound(): AppError {
  return new AppError({ code: 'job.not_found', status: 404, title: 'Not found', detail: 'No such job.' });
}

@Injectable()
export class CaptionService {
  private readonly flights = new SingleFlight<EnqueuedJob>();

  constructor(
    private readonly intake: ImageIntake,
    @Inject(CAPTION_CACHE) private readonly cache: CaptionCache,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(JobSettings) private readonly settings: JobSettings,
    @Inject(SERVED_MODEL) private readonly served: ServedModel,
  ) {}

  /**
   * How long a request waits for its captions before 202: `Prefer: wait=N` bounded by SYNC_TIMEOUT_MS;
   * without it, SYNC_TIMEOUT_MS for sync and no wait for async.
   */
  waitMs(command: Pick<CaptionCommand, 'async' | 'waitSeconds'>): number {
    const asked = command.waitSeconds === undefined ? undefined : command.waitSeconds * 1000;
    if (asked !== undefined) return Math.min(asked, this.settings.SYNC_TIMEOUT_MS);
    return command.async ? 0 : this.settings.SYNC_TIMEOUT_MS;
  }

  async caption(
    command: CaptionCommand,
    subject: string,
    requestId?: string,
  ): Promise<CaptionSuccessDto | CaptionAcceptedDto> {
    const { bytes, sha256 } = await this.intake.accept(
      command.image.kind === 'bytes' ? command.image.bytes : command.image,
    );
    const options = normalizeOptions(command.options);
    const model = await this.served.current();
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
    const waitMs = this.waitMs(command);
    if (waitMs > 0) {
      const state = await this.queue.waitForResult(job, waitMs);
      if (state.status === 'success') return success(state.result, false);
      if (state.status === 'failed') throw failedProblem(state.error);
    }
    const jobId = await this.queue.claim(job, subject, key, command.webhook);
    const view = await this.queue.status(jobId, subject).catch(() => undefined);
    return {
      status: 'processing',
      job_id: jobId,
      estimated_time_seconds: await this.queue.estimateSeconds(view?.queuePosition),
    };
  }

  async status(jobId: string, subject: string): Promise<JobStatusDto> {
    if (!UUID.test(jobId)) throw notFound();
    const view: JobView | undefined = await this.queue.status(jobId, subject);
    if (view === undefined) throw notFound();
    return this.document(jobId, view);
  }

  /** Cancels the caller's job: its document (now `canceled`), 404 for others, 409 once it finished. */
  async cancel(jobId: string, subject: string): Promise<JobStatusDto> {
    if (!UUID.test(jobId)) throw notFound();
    const outcome = await this.queue.cancel(jobId, subject);
    if (outcome === undefined) throw notFound();
    if (!outcome.canceled) {
      const status = outcome.status === 'gone' ? 'success' : outcome.status;
      throw new AppError({
        code: 'job.finished',
        status: 409,
        title: 'Job already finished',
        detail: `The job is ${status}: only a waiting or running job can be canceled.`,
        extra: { job_status: status },
      });
    }
    return this.status(jobId, subject);
  }

  private document(jobId: string, view: JobView): Promise<JobStatusDto> {
    return buildJobDocument(jobId, view, {
      cached: (key) => this.cache.get(key),
      estimate: (position) => this.queue.estimateSeconds(position),
    });
  }

  async models(): Promise<ModelsDto> {
    const info = await this.served.current();
    if (info === undefined) {
      throw new AppError({
        code: 'model.unavailable',
        status: 503,
        title: 'Model unavailable',
        detail: 'No model is loaded yet (in queue mode: no worker has announced one).',
        headers: { 'Retry-After': '5' },
      });
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
        },
      ],
    };
  }
}

/** A synchronous request whose job failed: the input's status, or 422 when inference kept failing on it. */
export function failedProblem(error: JobFailure): AppError {
  const status = FAILURE_STATUS[error.code] ?? 422;
  return new AppError({
    code: status === 422 && FAILURE_STATUS[error.code] === undefined ? 'caption.failed' : error.code,
    status,
    title: status === 503 ? 'Model unavailable' : 'Captioning failed',
    detail: error.message,
  });
}
