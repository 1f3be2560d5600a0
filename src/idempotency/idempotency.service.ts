/**
 * Runs one answer under an Idempotency-Key: the first request with a key takes it and its answer is
 * kept IDEMPOTENCY_TTL_SECONDS; the same request again gets that answer replayed (same job id, or the
 * same 200 body) with `Idempotent-Replayed: true`; a different request with the key is a 422; a request
 * while the first is still being answered is a 409. A failed answer (a problem) releases the key.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { IdempotencySettings } from './idempotency.settings';
import { IDEMPOTENT_REPLAYED_HEADER, idempotencyStoreKey } from './idempotency-key';
import { IDEMPOTENCY_STORE, type IdempotencyStore, type StoredAnswer } from './idempotency-store.port';

export interface IdempotentRun {
  subject: string;
  key: string;
  fingerprint: string;
  /** How long the key stays taken by a request still being answered (a crashed replica's key frees up). */
  leaseSeconds: number;
}

@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);

  constructor(
    @Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore,
    @Inject(IdempotencySettings) private readonly settings: IdempotencySettings,
  ) {}

  async run<A extends StoredAnswer>(run: IdempotentRun, answer: () => Promise<A>): Promise<StoredAnswer> {
    const key = idempotencyStoreKey(run.subject, run.key);
    const existing = await this.store.begin(key, run.fingerprint, run.leaseSeconds).catch((err: unknown) => {
      this.logger.warn(`idempotency store failed: ${err instanceof Error ? err.message : String(err)}`);
      throw unavailable();
    });
    if (existing !== undefined) return replay(existing.fingerprint === run.fingerprint, existing.answer);
    let result: A;
    try {
      result = await answer();
    } catch (err) {
      await this.store.release(key, run.fingerprint).catch(() => undefined); // the lease ends it anyway
      throw err;
    }
    const kept: StoredAnswer = { statusCode: result.statusCode, body: result.body, headers: result.headers };
    await this.store
      .complete(key, { fingerprint: run.fingerprint, answer: kept }, this.settings.IDEMPOTENCY_TTL_SECONDS)
      .catch((err: unknown) => {
        // The client has its answer; a retry meets the in-progress record until its lease ends (409).
        this.logger.warn(`idempotency answer not kept: ${err instanceof Error ? err.message : String(err)}`);
      });
    return result;
  }
}

function replay(sameRequest: boolean, answer: StoredAnswer | undefined): StoredAnswer {
  if (!sameRequest) {
    throw new AppError({
      code: 'idempotency.key_reused',
      status: 422,
      title: 'Idempotency-Key reused',
      detail:
        'This Idempotency-Key was already used for a different request (another image, options or ' +
        'mode). Use a new key for a new request.',
    });
  }
  if (answer === undefined) {
    throw new AppError({
      code: 'idempotency.in_progress',
      status: 409,
      title: 'Request in progress',
      detail: 'The first request with this Idempotency-Key is still being answered; retry shortly.',
      headers: { 'Retry-After': '1' },
    });
  }
  return { ...answer, headers: { ...answer.headers, [IDEMPOTENT_REPLAYED_HEADER]: 'true' } };
}

function unavailable(): AppError {
  return new AppError({
    code: 'idempotency.unavailable',
    status: 503,
    title: 'Service unavailable',
    detail: 'Idempotency keys cannot be checked right now; retry later (or send no Idempotency-Key).',
    headers: { 'Retry-After': '5' },
  });
}
