/**
 * The three probes, shared by the API's HealthController and the worker's health server. Each dependency
 * is optional: a process checks only what it has (the API in queue mode has no model; the worker has no
 * HTTP listener; embedded mode has no Redis). Readiness depends only on what the process cannot serve
 * without (the queue, the model where inference runs): the caption cache is reported, never required,
 * since a lost cache only costs recomputation (issue 13).
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { CAPTION_CACHE, type CaptionCache } from '../cache/caption-cache.port';
import { JOB_QUEUE, type JobQueueHealth } from '../jobs/job-queue.port';
import { CAPTION_MODEL, type CaptionModel } from '../model/caption-model.port';

/** A dependency that does not answer within this time is reported down. */
export const PING_TIMEOUT_MS = 1000;

export interface HealthReport {
  httpStatus: 200 | 503;
  body: HealthCheckResult;
}

/** The cache's state as readiness reports it: never a reason to fail. */
export interface CacheState {
  status: 'up' | 'down';
  /** Always false: the probe's status does not depend on the cache. */
  required: false;
  message?: string;
}

type Token = typeof CAPTION_CACHE | typeof JOB_QUEUE | typeof CAPTION_MODEL;

@Injectable()
export class HealthChecks {
  private readonly resolved = new Map<Token, unknown>();

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
    @Optional() @Inject(CAPTION_CACHE) cache?: CaptionCache,
    @Optional() @Inject(JOB_QUEUE) queue?: JobQueueHealth,
    @Optional() @Inject(CAPTION_MODEL) model?: CaptionModel,
  ) {
    if (cache) this.resolved.set(CAPTION_CACHE, cache);
    if (queue) this.resolved.set(JOB_QUEUE, queue);
    if (model) this.resolved.set(CAPTION_MODEL, model);
  }

  /** Liveness: the process answers. Never depends on Redis or the model (a restart would not fix them). */
  live(): Promise<HealthReport> {
    return this.run([
      () => this.indicator.check('process').up({ uptime_seconds: Math.round(process.uptime()) }),
    ]);
  }

  /**
   * Readiness: the queue answers and the model (if it runs here) is loaded. The cache's state is added
   * to the body (`details.cache`, and `info.cache` while up) without affecting the status: with the cache
   * Redis down the process still serves, as misses.
   */
  async ready(): Promise<HealthReport> {
    const checks: HealthIndicatorFunction[] = [];
    const queue = this.optional<JobQueueHealth>(JOB_QUEUE);
    if (queue) checks.push(this.ping('queue', () => queue.ping()));
    checks.push(...this.modelChecks());
    const [report, cache] = await Promise.all([this.run(checks), this.cacheState()]);
    if (cache === undefined) return report;
    const body: HealthCheckResult = {
      ...report.body,
      details: { ...report.body.details, cache },
    };
    if (cache.status === 'up') body.info = { ...(report.body.info ?? {}), cache };
    return { httpStatus: report.httpStatus, body };
  }

  /** The caption cache's state (undefined when this process has none); never throws. */
  async cacheState(): Promise<CacheState | undefined> {
    const cache = this.optional<CaptionCache>(CAPTION_CACHE);
    if (!cache) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        cache.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timeout of ${PING_TIMEOUT_MS}ms exceeded`)),
            PING_TIMEOUT_MS,
          );
        }),
      ]);
      return { status: 'up', required: false };
    } catch (err) {
      return { status: 'down', required: false, message: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Startup: the model is loaded and warm where inference runs; trivially up elsewhere. */
  startup(): Promise<HealthReport> {
    return this.run(this.modelChecks());
  }

  private modelChecks(): HealthIndicatorFunction[] {
    const model = this.optional<CaptionModel>(CAPTION_MODEL);
    if (!model) return [];
    return [
      () => {
        const session = this.indicator.check('model');
        return model.isReady() ? session.up() : session.down({ message: 'model not loaded yet' });
      },
    ];
  }

  private ping(key: string, fn: () => Promise<void>): HealthIndicatorFunction {
    return this.indicator
      .check(key)
      .attempt(() => fn())
      .withTimeout(PING_TIMEOUT_MS);
  }

  private async run(checks: HealthIndicatorFunction[]): Promise<HealthReport> {
    try {
      return { httpStatus: 200, body: await this.health.check(checks) };
    } catch (err) {
      const body = (err as { getResponse?: () => unknown }).getResponse?.();
      if (body && typeof body === 'object' && 'status' in body) {
        return { httpStatus: 503, body: body as HealthCheckResult };
      }
      throw err;
    }
  }

  /** A provider of another module, found wherever it is registered; undefined when the process has none. */
  private optional<T>(token: Token): T | undefined {
    if (!this.resolved.has(token)) {
      let found: unknown;
      try {
        found = this.moduleRef.get(token, { strict: false });
      } catch {
        found = undefined;
      }
      this.resolved.set(token, found);
    }
    return this.resolved.get(token) as T | undefined;
  }
}
