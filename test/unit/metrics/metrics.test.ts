import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JOB_QUEUE, type JobQueueHealth } from '../../../src/jobs/job-queue.port';
import { MetricsService } from '../../../src/metrics/metrics.service';
import { ProbeController } from '../common/probe.controller';
import { createTestApp, type TestApp } from '../common/test-app';

describe('MetricsService', () => {
  test('exposes the agreed series with their names, labels and buckets', async () => {
    const m = new MetricsService(undefined);
    m.httpDuration.observe({ method: 'GET', route: '/api/v1/models', status_code: '200' }, 0.02);
    m.cacheRequests.inc({ result: 'hit' });
    m.cacheRequests.inc({ result: 'miss' });
    m.cacheRequests.inc({ result: 'error' });
    m.inferenceSeconds.observe(0.3);
    m.batchSize.observe(3);
    m.jobs.inc({ outcome: 'completed' });
    m.jobs.inc({ outcome: 'failed' });
    m.jobs.inc({ outcome: 'joined' });
    const { contentType, body } = await m.metrics();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.match(
      body,
      /http_request_duration_seconds_bucket\{le="0\.025",method="GET",route="\/api\/v1\/models",status_code="200"\} 1/,
    );
    for (const result of ['hit', 'miss', 'error']) {
      assert.match(body, new RegExp(`captioner_cache_requests_total\\{result="${result}"\\} 1`));
    }
    assert.match(body, /captioner_inference_seconds_count 1/);
    const batchBuckets = [...body.matchAll(/captioner_batch_size_bucket\{le="([^"]+)"\}/g)].map((x) => x[1]);
    assert.deepEqual(batchBuckets, ['1', '2', '4', '8', '16', '32', '+Inf']);
    assert.match(body, /captioner_batch_size_bucket\{le="4"\} 1/);
    for (const outcome of ['completed', 'failed', 'joined']) {
      assert.match(body, new RegExp(`captioner_jobs_total\\{outcome="${outcome}"\\} 1`));
    }
    assert.match(body, /process_resident_memory_bytes/);
    assert.match(body, /# TYPE captioner_queue_depth gauge/);
  });

  test('two services have separate registries (several apps in one process)', async () => {
    const a = new MetricsService(undefined);
    const b = new MetricsService(undefined);
    a.jobs.inc({ outcome: 'completed' });
    assert.match((await a.metrics()).body, /captioner_jobs_total\{outcome="completed"\} 1/);
    assert.doesNotMatch((await b.metrics()).body, /captioner_jobs_total\{outcome="completed"\}/);
  });

  test('queue depth is read from the queue at scrape time, by state', async () => {
    let waiting = 1;
    const queue: JobQueueHealth = {
      ping: async () => undefined,
      counts: async () => ({ waiting, active: 2, delayed: 3, failed: 4 }),
    };
    const m = new MetricsService(queue);
    let body = (await m.metrics()).body;
    assert.match(body, /captioner_queue_depth\{state="waiting"\} 1/);
    assert.match(body, /captioner_queue_depth\{state="failed"\} 4/);
    waiting = 7;
    body = (await m.metrics()).body;
    assert.match(body, /captioner_queue_depth\{state="waiting"\} 7/);
  });

  test('a queue that fails leaves no stale samples and does not fail the scrape', async () => {
    let up = true;
    const queue: JobQueueHealth = {
      ping: async () => undefined,
      counts: async () => {
        if (!up) throw new Error('Connection is closed.');
        return { waiting: 5, active: 0, delayed: 0, failed: 0 };
      },
    };
    const m = new MetricsService(queue);
    assert.match((await m.metrics()).body, /captioner_queue_depth\{state="waiting"\} 5/);
    up = false;
    const body = (await m.metrics()).body;
    assert.doesNotMatch(body, /captioner_queue_depth\{/);
    assert.match(body, /captioner_jobs_total/);
  });
});

describe('metrics of the API', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      controllers: [ProbeController],
      providers: [
        {
          provide: JOB_QUEUE,
          useValue: {
            ping: async () => undefined,
            counts: async () => ({ waiting: 9, active: 0, delayed: 0, failed: 0 }),
          },
        },
      ],
    });
  });
  after(async () => t.close());

  const scrape = async (): Promise<string> => (await t.app.get(MetricsService).metrics()).body;

  test('are not served on the public listener (the management listener serves them)', async () => {
    assert.equal((await t.app.inject({ url: '/metrics' })).statusCode, 404);
    assert.equal((await t.app.inject({ url: '/api/metrics' })).statusCode, 404);
    assert.match(
      await scrape(),
      /captioner_queue_depth\{state="waiting"\} 9/,
      'finds the queue of another module',
    );
  });

  test('records request durations by route pattern, never by raw URL', async () => {
    await t.app.inject({ url: '/api/v1/probe/slow/1' });
    await t.app.inject({ url: '/api/v1/probe/slow/2' });
    await t.app.inject({ url: '/api/v1/no/such/route/42' });
    const body = await scrape();
    assert.match(
      body,
      /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/probe\/slow\/:ms",status_code="200"\} 2/,
    );
    assert.match(
      body,
      /http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} [1-9]/,
    );
    assert.doesNotMatch(body, /slow\/1"|route\/42/);
  });
});
