/**
 * Queue mode end to end: the API and a worker as separate processes, each Redis a private redis-server
 * on its own port (one for the queue, one for the cache), so this suite may stop them: the shared Redis
 * at 6379 is never touched. The shared API suite runs here as in embedded mode, plus what only queue
 * mode has: no worker yet, Redis outages and recovery, graceful shutdown of the API and of the worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoopbackServer } from '../helpers/image-server';
import { imagesDir } from '../helpers/paths';
import { baseEnv, metric, startApi, startWorker, type Env, type ServiceProcess } from '../helpers/processes';
import { PrivateRedis } from '../helpers/redis';
import { sleep, waitFor } from '../helpers/time';
import { bearer } from '../helpers/tokens';
import { apiSuite, assertProblem, assertSuccess, type Stack } from './support/api-suite';
import { ApiClient, type Answer } from './support/http';

const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;
const RATE_LIMIT = 300;
let queueRedis: PrivateRedis;
let cacheRedis: PrivateRedis;
let allowed: LoopbackServer;
let trap: LoopbackServer;
let api: ServiceProcess | undefined;
let worker: ServiceProcess | undefined;
let stack: Stack;
const processes: ServiceProcess[] = [];

const photo = (name: string): Buffer =>
  Buffer.concat([readFileSync(join(imagesDir, 'photos', name)), randomBytes(16)]);
const subject = (): string => `e2e-${randomUUID()}`;

function env(extra: Env = {}): Env {
  return baseEnv({
    REDIS_URL: queueRedis.url,
    CACHE_REDIS_URL: cacheRedis.url,
    QUEUE_NAME: 'e2e',
    URL_FETCH_ALLOWLIST: '127.0.0.2/32',
    MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
    RATE_LIMIT_LIMIT: String(RATE_LIMIT),
    JOB_LOCK_DURATION_MS: '10000',
    JOB_STALLED_INTERVAL_MS: '5000',
    ...extra,
  });
}

async function launchWorker(): Promise<ServiceProcess> {
  const w = await startWorker(env());
  processes.push(w);
  return w;
}

before(async () => {
  queueRedis = await PrivateRedis.create(); // started by the first test, after the API
  cacheRedis = await PrivateRedis.start(['--maxmemory-policy', 'allkeys-lru']);
  trap = await LoopbackServer.start('127.0.0.1');
  allowed = await LoopbackServer.start('127.0.0.2', () => `http://127.0.0.1:${trap.port}/photos/concert.jpg`);
  api = await startApi(env({ SYNC_TIMEOUT_MS: '2000' }));
  processes.push(api);
});

after(async () => {
  for (const p of processes) if (p.running) await p.stop('SIGKILL');
  await allowed?.close();
  await trap?.close();
  await queueRedis?.destroy();
  await cacheRedis?.destroy();
});

test(
  'queue: an API started before its Redis is live, answers 503, then works once Redis is up',
  { timeout: 60_000 },
  async () => {
    assert.ok(api);
    const client = new ApiClient(api.url);
    const auth = await bearer(subject());
    const refused = await client.upload(auth, photo('320x240.jpg'), { mode: 'async' });
    assertProblem(refused, 503);
    // The process's very first request (cold code paths); the outage test below holds warm 503s to < 1 s.
    assert.ok(refused.ms < 2000, `503 after ${refused.ms} ms`);
    assert.equal((await client.request('GET', '/health/ready')).status, 503);
    await queueRedis.start();
    const started = Date.now();
    await waitFor(
      'the queue to accept jobs',
      async () => {
        const a = await client.upload(auth, photo('320x240.jpg'), { mode: 'async' });
        return a.status === 202 ? a : undefined;
      },
      20_000,
      200,
    );
    console.log(
      `# API started without Redis: 503 in ${refused.ms.toFixed(0)} ms; accepting jobs ${Date.now() - started} ms after Redis started`,
    );
  },
);

test(
  'queue: with no worker yet, models is 503 and a sync request falls back to 202; a worker then completes it',
  { timeout: 180_000 },
  async () => {
    assert.ok(api);
    await api.waitFor('/health/ready');
    const client = new ApiClient(api.url);
    const auth = await bearer(subject());
    assertProblem(await client.request('GET', '/api/v1/models', { headers: auth }), 503);
    const image = photo('gamma_dalai_lama_gray.jpg');
    const a = await client.upload(auth, image);
    assert.equal(a.status, 202, JSON.stringify(a.body));
    assert.ok(a.ms >= 1900 && a.ms < 10_000, `answered after ${a.ms} ms`);
    assert.equal((await client.job(auth, String(a.body.job_id))).body.status, 'processing');
    worker = await launchWorker();
    const done = await client.settle(auth, String(a.body.job_id));
    assert.equal(done.body.status, 'success', JSON.stringify(done.body));
    // The worker announced its model: the API answers /models and looks the cache up with its version.
    await waitFor('the model to be announced', async () => {
      const m = await client.request('GET', '/api/v1/models', { headers: auth });
      return m.status === 200 ? m : undefined;
    });
  },
);

test(
  'queue: SIGTERM to the API during in-flight sync requests: they are answered, then it exits',
  { timeout: 180_000 },
  async () => {
    assert.ok(api);
    const client = new ApiClient(api.url);
    const auth = await bearer(subject());
    const inflight = ['Landscape_7.jpg', 'Landscape_8.jpg', 'Portrait_6.jpg', 'Portrait_8.jpg'].map((f) =>
      client.upload(auth, photo(f), { num_captions: '3' }),
    );
    await sleep(200);
    const stopping = api.stop('SIGTERM', 60_000);
    const answers: Answer[] = await Promise.all(inflight);
    for (const a of answers)
      assert.ok(a.status === 200 || a.status === 202, `${a.status} ${JSON.stringify(a.body)}`);
    const { code, ms } = await stopping;
    assert.equal(code, 0, api.tail());
    console.log(
      `# queue API answered ${answers.map((a) => a.status).join(',')} while draining and exited in ${ms} ms`,
    );
    // The suite's API waits long enough for every sync request.
    api = await startApi(env({ SYNC_TIMEOUT_MS: '30000' }));
    processes.push(api);
    await api.waitFor('/health/ready');
    assert.ok(worker);
    stack = {
      mode: 'queue',
      api,
      inference: worker,
      allowed,
      trap,
      maxUploadBytes: MAX_UPLOAD_BYTES,
      rateLimit: RATE_LIMIT,
    };
  },
);

apiSuite(() => stack);

test('queue: Redis outages degrade and recover by themselves', { timeout: 180_000 }, async () => {
  assert.ok(api);
  const client = new ApiClient(api.url);
  const auth = await bearer(subject());

  // Cache Redis down: captions are still answered (misses), repeats too.
  await cacheRedis.stop();
  const image = photo('low-contrast.jpg');
  const first = await client.upload(auth, image);
  assertSuccess(first, image);
  const again = await client.upload(auth, image);
  assertSuccess(again, image);
  assert.equal(again.body.cached, false);
  // Readiness does not depend on the cache (a lost cache costs recomputation): the API stays in its
  // target groups, and says what is down in the body.
  await waitFor(
    'the API to report the cache down while staying ready',
    async () => {
      const r = await client.request('GET', '/health/ready');
      assert.equal(r.status, 200, `ready turned ${r.status} with only the cache down`);
      const details = r.body.details as Record<string, { status: string }>;
      return details.cache?.status === 'down' ? true : undefined;
    },
    20_000,
    200,
  );
  await cacheRedis.start();

  // Queue Redis down: async requests get a quick 503, job status too; nothing hangs.
  const accepted = await client.upload(auth, photo('320x240.jpg'), { mode: 'async' });
  assert.equal(accepted.status, 202);
  await queueRedis.stop();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const a = await client.upload(auth, photo('Landscape_1.jpg'), { mode: 'async' });
    assertProblem(a, 503);
    times.push(a.ms);
    await sleep(100);
  }
  assertProblem(await client.job(auth, String(accepted.body.job_id)), 503);
  assert.ok(Math.max(...times) < 1000, `503 after ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  const live = await client.request('GET', '/health/live');
  assert.equal(live.status, 200);
  assert.equal((await client.request('GET', '/health/ready')).status, 503);

  // Both back (the queue Redis empty: no persistence in this test): API and worker reconnect.
  await queueRedis.start();
  const returned = Date.now();
  const recovered = await waitFor(
    'a caption through the queue again',
    async () => {
      const a = await client.upload(auth, photo('Landscape_9.jpg'));
      return a.status === 200 ? a : undefined;
    },
    20_000,
    250,
  );
  assertSuccess(recovered);
  console.log(
    `# outage: async 503 in ${times.map((t) => t.toFixed(0)).join(', ')} ms; captions again ${Date.now() - returned} ms after the queue Redis returned`,
  );
});

test(
  'queue: SIGTERM to a worker during a batch: active jobs finish, none is lost',
  { timeout: 180_000 },
  async () => {
    assert.ok(api && worker);
    const client = new ApiClient(api.url);
    const auth = await bearer(subject());
    const names = [
      'Landscape_1.jpg',
      'Landscape_2.jpg',
      'Landscape_3.jpg',
      'Landscape_4.jpg',
      'Landscape_5.jpg',
      'Landscape_6.jpg',
      'Portrait_1.jpg',
      'Portrait_6.jpg',
      'concert.jpg',
      'flowers.jpeg',
      'Landscape_7.jpg',
      'Landscape_8.jpg',
    ];
    const accepted = await Promise.all(
      names.map((n) => client.upload(auth, photo(n), { mode: 'async', num_captions: '5' })),
    );
    for (const a of accepted) assert.equal(a.status, 202, JSON.stringify(a.body));
    // SIGTERM while jobs are active (the worker's own view of the queue).
    const w = worker;
    await waitFor(
      'jobs to be active',
      async () => ((await metric(w, 'captioner_queue_depth', { state: 'active' })) > 0 ? true : undefined),
      20_000,
    );
    const { code, ms } = await worker.stop('SIGTERM', 60_000);
    assert.equal(code, 0, worker.tail());
    const states = await Promise.all(accepted.map((a) => client.job(auth, String(a.body.job_id))));
    const finished = states.filter((s) => s.body.status === 'success').length;
    assert.ok(
      states.every((s) => s.body.status === 'success' || s.body.status === 'processing'),
      JSON.stringify(states.map((s) => s.body.status)),
    );
    // A new worker takes what was left: every accepted job completes.
    worker = await launchWorker();
    const done = await Promise.all(accepted.map((a) => client.settle(auth, String(a.body.job_id), 120_000)));
    for (const d of done) assert.equal(d.body.status, 'success', JSON.stringify(d.body));
    console.log(
      `# worker stopped in ${ms} ms with ${finished}/${names.length} jobs done; the next worker completed the rest`,
    );
  },
);
