import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsService } from '../../../src/metrics/metrics.service';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CAPTION_CACHE, type CaptionCache } from '../../../src/cache/caption-cache.port';
import { HealthModule } from '../../../src/health/health.module';
import {
  startManagementServer,
  startWorkerHealthServer,
  type WorkerHealthServer,
} from '../../../src/health/worker-health.server';
import { JOB_QUEUE, type JobQueueHealth } from '../../../src/jobs/job-queue.port';
import { MetricsModule } from '../../../src/metrics/metrics.module';
import { CAPTION_MODEL, type CaptionModel } from '../../../src/model/caption-model.port';
import { createTestApp, setEnv, type TestApp } from '../common/test-app';

/** Switchable fakes of the three ports health looks at. */
class Deps {
  cacheUp = true;
  queueUp = true;
  queueHangs = false;
  modelReady = false;
  readonly cache: Pick<CaptionCache, 'ping'> = {
    ping: async () => {
      if (!this.cacheUp) throw new Error('ECONNREFUSED 127.0.0.1:6390');
    },
  };
  readonly queue: JobQueueHealth = {
    ping: () =>
      this.queueHangs
        ? new Promise<void>(() => undefined)
        : this.queueUp
          ? Promise.resolve()
          : Promise.reject(new Error('Connection is closed.')),
    counts: async () => ({ waiting: 4, active: 2, delayed: 1, failed: 0 }),
  };
  readonly model: Pick<CaptionModel, 'isReady'> = { isReady: () => this.modelReady };
}

async function deadRedisUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return `redis://127.0.0.1:${port}`;
}

describe('API health with every dependency present', () => {
  const deps = new Deps();
  let t: TestApp;
  before(async () => {
    // Queue mode with Redis down: the throttler's Redis client cannot connect either.
    t = await createTestApp({
      env: { REDIS_URL: await deadRedisUrl() },
      providers: [
        { provide: CAPTION_CACHE, useValue: deps.cache },
        { provide: JOB_QUEUE, useValue: deps.queue },
        { provide: CAPTION_MODEL, useValue: deps.model },
      ],
    });
  });
  after(async () => t.close());

  test('live is 200 while Redis, the queue and the model are all down', async () => {
    deps.cacheUp = false;
    deps.queueUp = false;
    deps.modelReady = false;
    const res = await t.app.inject({ url: '/health/live' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'ok');
    assert.deepEqual(Object.keys(res.json().details), ['process']);
  });

  test('ready stays 200 with the cache down, reporting it in the body (a lost cache costs recomputation)', async () => {
    deps.cacheUp = false;
    deps.queueUp = true;
    deps.modelReady = true;
    let res = await t.app.inject({ url: '/health/ready' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'ok');
    assert.deepEqual(res.json().details.cache, {
      status: 'down',
      required: false,
      message: 'ECONNREFUSED 127.0.0.1:6390',
    });
    assert.equal(res.json().info.cache, undefined);
    assert.equal(res.json().error.cache, undefined, 'the cache is not a readiness error');
    assert.equal(res.json().details.queue.status, 'up');

    deps.cacheUp = true;
    res = await t.app.inject({ url: '/health/ready' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(Object.keys(res.json().details).sort(), ['cache', 'model', 'queue']);
    assert.deepEqual(res.json().info.cache, { status: 'up', required: false });
  });

  test('ready is 503 naming the queue when the queue is down, with the cache still reported', async () => {
    deps.cacheUp = true;
    deps.queueUp = false;
    deps.modelReady = true;
    const res = await t.app.inject({ url: '/health/ready' });
    deps.queueUp = true;
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().status, 'error');
    assert.equal(res.json().error.queue.status, 'down');
    assert.equal(res.json().details.cache.status, 'up');
  });

  test('ready is 503 while the model (where inference runs) is not loaded', async () => {
    deps.modelReady = false;
    const res = await t.app.inject({ url: '/health/ready' });
    deps.modelReady = true;
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().details.model.status, 'down');
  });

  test('captioner_dependency_up reports the cache and the queue at scrape time', async () => {
    // /metrics is served by the management listener; the scrape reads this registry.
    const registry = t.app.get(MetricsService).registry;
    deps.cacheUp = false;
    let text = await registry.metrics();
    assert.match(text, /captioner_dependency_up\{dependency="cache"\} 0/);
    assert.match(text, /captioner_dependency_up\{dependency="queue"\} 1/);
    deps.cacheUp = true;
    text = await registry.metrics();
    assert.match(text, /captioner_dependency_up\{dependency="cache"\} 1/);
  });

  test('a hanging dependency makes ready fail within about a second, not hang', async () => {
    deps.queueHangs = true;
    const started = Date.now();
    const res = await t.app.inject({ url: '/health/ready' });
    deps.queueHangs = false;
    assert.equal(res.statusCode, 503);
    assert.match(res.json().details.queue.message, /timeout/);
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
  });

  test('startup follows the model', async () => {
    deps.modelReady = false;
    assert.equal((await t.app.inject({ url: '/health/startup' })).statusCode, 503);
    deps.modelReady = true;
    assert.equal((await t.app.inject({ url: '/health/startup' })).statusCode, 200);
  });

  test('probes are not versioned, not prefixed, and need no token', async () => {
    assert.equal((await t.app.inject({ url: '/api/health/live' })).statusCode, 404);
    assert.equal((await t.app.inject({ url: '/api/v1/health/live' })).statusCode, 404);
  });
});

describe('API health with no optional dependency (queue-mode API without a model, or a bare app)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  test('live, ready and startup are all 200', async () => {
    for (const probe of ['live', 'ready', 'startup']) {
      assert.equal((await t.app.inject({ url: `/health/${probe}` })).statusCode, 200, probe);
    }
  });
});

describe('worker health server', () => {
  const deps = new Deps();
  let restore: () => void;
  let server: WorkerHealthServer;
  let management: WorkerHealthServer;
  let close: () => Promise<void>;
  before(async () => {
    restore = setEnv({ REDIS_URL: undefined });
    @Module({
      imports: [MetricsModule, HealthModule],
      providers: [
        { provide: JOB_QUEUE, useValue: deps.queue },
        { provide: CAPTION_MODEL, useValue: deps.model },
      ],
    })
    class WorkerTestModule {}
    const context = await NestFactory.createApplicationContext(WorkerTestModule, { logger: false });
    server = await startWorkerHealthServer(context, 0, '127.0.0.1');
    management = await startManagementServer(context, 0, '127.0.0.1');
    close = async () => {
      await server.close();
      await management.close();
      await context.close();
    };
  });
  after(async () => {
    await close();
    restore();
  });

  const get = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${server.port}${path}`);

  test('serves the same probes: live 200, startup and ready follow the model and the queue', async () => {
    deps.modelReady = false;
    assert.equal((await get('/health/live')).status, 200);
    assert.equal((await get('/health/startup')).status, 503);
    assert.equal((await get('/health/ready')).status, 503);
    deps.modelReady = true;
    assert.equal((await get('/health/startup')).status, 200);
    const ready = await get('/health/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(Object.keys(((await ready.json()) as { details: object }).details).sort(), [
      'model',
      'queue',
    ]);
    deps.queueUp = false;
    assert.equal((await get('/health/ready')).status, 503);
    assert.equal((await get('/health/live')).status, 200);
    deps.queueUp = true;
  });

  test('serves /metrics on the management listener only, with the queue depth read from the queue', async () => {
    const probesOnly = await get('/metrics');
    assert.equal(probesOnly.status, 404, 'the probe listener does not serve /metrics');
    await probesOnly.arrayBuffer();
    const res = await fetch(`http://127.0.0.1:${management.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /captioner_queue_depth\{state="waiting"\} 4/);
    assert.match(text, /process_cpu_user_seconds_total/);
  });

  test('anything else is a 404 or 405 problem', async () => {
    const res = await get('/nope');
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(
      (await fetch(`http://127.0.0.1:${management.port}/metrics`, { method: 'POST' })).status,
      405,
    );
    assert.equal((await fetch(`http://127.0.0.1:${management.port}/health/live`)).status, 200);
  });
});
