/**
 * The captioning use case: intake -> sha256 -> (Idempotency-Key: replay or run once) -> cache (hit: 200
 * cached) -> single-flight of identical misses -> prepare + enqueue (or join) -> sync wait up to
 * SYNC_TIMEOUT_MS (or Prefer: wait) -> 200, else 202 with a job id owned by the caller; every answer says
 * how the cache took part (Cache-Status). Also job status, cancel and the model description.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { catalogEntry, codedProblem } from '../common/problem/problem-catalog';
import { CAPTION_CACHE, type CachedCaptions, type CaptionCache } from '../cache/caption-cache.port';
import { captionCacheKey, normalizeOptions, subjectScope, withDerivedSeed } from '../cache/cache-key';
import { CacheSettings } from '../cache/cache.settings';
import { CACHE_STATUS_HEADER, cacheStatus, type CacheForward } from '../cache/cache-status';
import { SingleFlight } from '../cache/single-flight';
import { requestFingerprint } from '../idempotency/idempotency-key';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { ImageIntake } from '../image/image-intake.service';
import { MODEL_IMAGE_SIZE } from '../image/decode-image';
import type { CaptionJobData, JobFailure, JobView } from '../jobs/caption-job.types';
import { buildJobDocument, retryAfterSeconds } from '../jobs/job-document';
import { queueUnavailable } from '../jobs/job.errors';
import { JobSettings } from '../jobs/job.settings';
import { JOB_QUEUE, type EnqueuedJob, type JobQueue } from '../jobs/job-queue.port';
import { SERVED_MODEL, type ServedModel } from '../jobs/served-model.port';
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

/** A caption answer: status code, body and the headers that go with it (what an idempotent replay repeats). */
export interface CaptionAnswer {
  statusCode: 200 | 202;
  body: CaptionSuccessDto | CaptionAcceptedDto;
  headers: Record<string, string>;
}

/** Seconds an Idempotency-Key stays taken by a request still being answered, beyond its sync wait. */
const IDEMPOTENCY_LEASE_MARGIN_SECONDS = 60;

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
    @Inject(CacheSettings) private readonly cacheSettings: CacheSettings,
    private readonly idempotency: IdempotencyService,
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

  async caption(command: CaptionCommand, subject: string, requestId?: string): Promise<CaptionAnswer> {
    const { bytes, sha256 } = await this.intake.accept(
      command.image.kind === 'bytes' ? command.image.bytes : command.image,
    );
    const key = command.http.idempotencyKey;
    if (key === undefined) return this.answer(command, subject, requestId, bytes, sha256);
    // Everything but the image source and the HTTP options identifies the request (with the image's hash).
    const { image: _image, http: _http, ...fields } = command;
    const run = {
      subject,
      key,
      fingerprint: requestFingerprint(sha256, fields),
      leaseSeconds: Math.ceil(this.settings.SYNC_TIMEOUT_MS / 1000) + IDEMPOTENCY_LEASE_MARGIN_SECONDS,
    };
    return (await this.idempotency.run(run, () =>
      this.answer(command, subject, requestId, bytes, sha256),
    )) as CaptionAnswer;
  }

  private async answer(
    command: CaptionCommand,
    subject: string,
    requestId: string | undefined,
    bytes: Buffer,
    sha256: string,
  ): Promise<CaptionAnswer> {
    const options = withDerivedSeed(normalizeOptions(command.options), sha256);
    const model = await this.served.current();
    const scope = this.cacheSettings.CACHE_SCOPE === 'subject' ? subjectScope(subject) : undefined;
    const key = captionCacheKey(sha256, model?.version ?? UNKNOWN_VERSION, options, scope);
    const forward: CacheForward = model === undefined || command.http.noCache === true ? 'bypass' : 'miss';
    if (forward === 'miss') {
      const hit = await this.cache.get(key);
      if (hit !== undefined) return ok(success(hit, true), cacheStatus('hit'));
    }
    if (!this.queue.available()) throw queueUnavailable();
    const fresh = command.http.noCache === true ? randomUUID() : undefined;
    const enqueue = async (): Promise<EnqueuedJob> => {
      const image = await this.intake.prepare(bytes, model?.imageSize ?? MODEL_IMAGE_SIZE);
      const data: CaptionJobData = {
        rgb: Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength).toString('base64'),
        size: image.size,
        width: image.width,
        height: image.height,
        sha256,
        options,
        cacheKey: key,
        ...(scope !== undefined ? { scope } : {}),
        ...(fresh !== undefined ? { fresh } : {}),
        modelVersion: model?.version ?? '',
        requestId,
        enqueuedAt: Date.now(),
      };
      return this.queue.enqueue(data);
    };
    // Identical misses in this process share one decode and one enqueue; across replicas, the job id
    // derived from the key joins them in the queue. A recomputation joins nothing.
    const job = fresh !== undefined ? await enqueue() : await this.flights.run(key, enqueue).promise;
    const waitMs = this.waitMs(command);
    if (waitMs > 0) {
      const state = await this.queue.waitForResult(job, waitMs);
      if (state.status === 'success') return ok(success(state.result, false), cacheStatus(forward, true));
      if (state.status === 'failed') throw failedProblem(state.error, cacheStatus(forward));
    }
    const jobId = await this.queue.claim(job, subject, key, command.webhook);
    const view = await this.queue.status(jobId, subject).catch(() => undefined);
    const accepted: CaptionAcceptedDto = {
      status: 'processing',
      job_id: jobId,
      estimated_time_seconds: await this.queue.estimateSeconds(view?.queuePosition),
    };
    return {
      statusCode: 202,
      body: accepted,
      headers: {
        location: `/api/v1/caption/${jobId}`,
        'retry-after': String(retryAfterSeconds(accepted.estimated_time_seconds)),
        [CACHE_STATUS_HEADER]: cacheStatus(forward),
      },
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
      throw new AppError(
        codedProblem('job.finished', `The job is ${status}: only a waiting or running job can be canceled.`, {
          extra: { job_status: status },
        }),
      );
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

function ok(body: CaptionSuccessDto, status: string): CaptionAnswer {
  return { statusCode: 200, body, headers: { [CACHE_STATUS_HEADER]: status } };
}

/**
 * A synchronous request whose job failed: the status the catalog gives its code when that is the
 * input's fault (4xx) or a dependency (503); 422 caption.failed when inference kept failing on it.
 */
export function failedProblem(error: JobFailure, cacheStatusValue?: string): AppError {
  const headers = cacheStatusValue !== undefined ? { [CACHE_STATUS_HEADER]: cacheStatusValue } : undefined;
  const entry = catalogEntry(error.code);
  if (entry !== undefined && (entry.status < 500 || entry.status === 503)) {
    return new AppError({
      code: error.code,
      status: entry.status,
      title: entry.title,
      detail: error.message,
      ...(headers !== undefined ? { headers } : {}),
    });
  }
  return new AppError(
    codedProblem('caption.failed', error.message, headers !== undefined ? { headers } : {}),
  );
}
