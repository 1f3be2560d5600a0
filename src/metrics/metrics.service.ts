/**
 * The Prometheus registry of a process and the series every module records into. One registry per
 * application (not prom-client's global one), so tests can build several applications in one process.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CAPTION_CACHE, type CaptionCache } from '../cache/caption-cache.port';
import { JOB_QUEUE, type JobQueueHealth, type QueueCounts } from '../jobs/job-queue.port';

const QUEUE_STATES: (keyof QueueCounts)[] = ['waiting', 'active', 'delayed', 'failed'];
/** A dependency that does not answer a scrape-time ping within this time counts as down. */
const DEPENDENCY_PING_MS = 1000;

@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** Recorded by the HTTP hook (bootstrap): one observation per response, labelled by route pattern. */
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly cacheRequests = new Counter({
    name: 'captioner_cache_requests_total',
    help: 'Caption cache look-ups by result (hit, miss, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly inferenceSeconds = new Histogram({
    name: 'captioner_inference_seconds',
    help: 'Time spent in one model call (a batch).',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'captioner_batch_size',
    help: 'Images per model call.',
    buckets: [1, 2, 4, 8, 16, 32],
    registers: [this.registry],
  });

  readonly jobs = new Counter({
    name: 'captioner_jobs_total',
    help: 'Caption jobs by outcome (completed, failed, retried, stalled; unreplicated: accepted before QUEUE_WAIT_REPLICAS acknowledged it).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly webhooks = new Counter({
    name: 'captioner_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered, retried, failed: given up).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly queueDepth: Gauge<'state'>;

  /** 1 when the dependency answers a ping at scrape time, 0 when not (the cache does not fail readiness). */
  readonly dependencyUp: Gauge<'dependency'>;

  /** Rate-limit checks that could not reach Redis and were let through. */
  readonly throttlerStorageErrors = new Counter({
    name: 'captioner_throttler_storage_errors_total',
    help: 'Rate-limit checks that failed open because the throttler storage did not answer.',
    registers: [this.registry],
  });

  private readonly logger = new Logger(MetricsService.name);
  private queue: JobQueueHealth | null | undefined;
  private cache: Pick<CaptionCache, 'ping'> | null | undefined;

  constructor(
    @Optional() @Inject(JOB_QUEUE) queue: JobQueueHealth | undefined,
    @Optional() private readonly moduleRef?: ModuleRef,
  ) {
    this.queue = queue;
    collectDefaultMetrics({ register: this.registry });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.queueDepth = new Gauge({
      name: 'captioner_queue_depth',
      help: 'Jobs in the caption queue by state, read at scrape time.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        await self.collectQueueDepth(this);
      },
    });
    this.dependencyUp = new Gauge({
      name: 'captioner_dependency_up',
      help: 'Whether a dependency (queue, cache) answers a ping, read at scrape time.',
      labelNames: ['dependency'] as const,
      registers: [this.registry],
      async collect() {
        await self.collectDependencies(this);
      },
    });
  }

  /** Prometheus text exposition of every series of this process. */
  async metrics(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async collectQueueDepth(gauge: Gauge<'state'>): Promise<void> {
    const queue = this.jobQueue();
    gauge.reset();
    if (!queue) return;
    try {
      const counts = await queue.counts();
      for (const state of QUEUE_STATES) gauge.set({ state }, counts[state]);
    } catch (err) {
      // No samples rather than stale ones; the scrape itself must still succeed.
      this.logger.warn(`queue depth unavailable: ${(err as Error).message}`);
    }
  }

  private async collectDependencies(gauge: Gauge<'dependency'>): Promise<void> {
    gauge.reset();
    const deps: [string, { ping(): Promise<void> } | undefined][] = [
      ['queue', this.jobQueue()],
      ['cache', this.captionCache()],
    ];
    await Promise.all(
      deps.map(async ([dependency, dep]) => {
        if (dep) gauge.set({ dependency }, (await answers(dep)) ? 1 : 0);
      }),
    );
  }

  private captionCache(): Pick<CaptionCache, 'ping'> | undefined {
    if (this.cache === undefined) {
      try {
        this.cache = this.moduleRef?.get<CaptionCache>(CAPTION_CACHE, { strict: false }) ?? null;
      } catch {
        this.cache = null;
      }
    }
    return this.cache ?? undefined;
  }

  /** The queue provider, wherever it is registered (it is optional: a process may have none). */
  private jobQueue(): JobQueueHealth | undefined {
    if (this.queue === undefined) {
      try {
        this.queue = this.moduleRef?.get<JobQueueHealth>(JOB_QUEUE, { strict: false }) ?? null;
      } catch {
        this.queue = null;
      }
    }
    return this.queue ?? undefined;
  }
}

async function answers(dep: { ping(): Promise<void> }): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      dep.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), DEPENDENCY_PING_MS);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
