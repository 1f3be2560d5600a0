/**
 * Issue 6, fault 4: Redis killed and restarted under load, with the API and a worker as processes. The
 * private redis-server persists with `appendonly yes` + `appendfsync always`: every write a client saw
 * acknowledged survives the crash, so every job accepted before it must be accounted for afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Answer } from '../e2e/support/http';
import { imagesDir } from '../helpers/paths';
import { metric, type ServiceProcess } from '../helpers/processes';
import { bearer } from '../helpers/tokens';
import { sleep, waitFor } from '../helpers/time';
import { assertProblem, CheckedClient } from './support/client';
import { freshPhoto, smallPhotos } from './support/images';
import { inspector, internalIdOf, settleAll } from './support/jobs';
import { apisAndWorker, figure, queueEnv, stopAll, TestRedis } from './support/stack';

const LOCK_MS = 10_000;
const RECONNECT_BOUND_MS = 20_000;
let redis: TestRedis;
let apiProc: ServiceProcess;
let workerProc: ServiceProcess;
let client: CheckedClient;

before(async () => {
  redis = await TestRedis.start(['--appendonly', 'yes', '--appendfsync', 'always']);
  const env = await queueEnv(redis.url, {
    JOB_LOCK_DURATION_MS: String(LOCK_MS),
    JOB_STALLED_INTERVAL_MS: String(LOCK_MS / 2),
    SYNC_TIMEOUT_MS: '45000',
    RATE_LIMIT_LIMIT: '100000',
  });
  ({
    apis: [apiProc],
    worker: workerProc,
  } = await apisAndWorker(env));
  client = new CheckedClient(apiProc.url);
});

after(async () => {
  await stopAll(redis);
});

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Sent {
  at: number;
  answer?: Answer;
  error?: string;
}

test(
  '4. Redis restarted under load: API up, misses, quick 503s, reconnection within 20 s, no job lost',
  { timeout: 300_000 },
  async (t) => {
    const auth = await bearer(`restart-${randomUUID()}`);
    const models = await client.request('GET', '/api/v1/models', { headers: auth });
    const version = (models.body.models as { version: string }[])[0].version;
    const cachedImage = freshPhoto('concert.jpg');
    assert.equal((await client.upload(auth, cachedImage)).status, 200);
    assert.equal((await client.upload(auth, cachedImage)).body.cached, true);

    // Load: two clients, each sending an async caption every 100 ms, for the whole test.
    const sent: Sent[] = [];
    let loading = true;
    const loop = async (offset: number): Promise<void> => {
      for (let i = offset; loading; i += 2) {
        const s: Sent = { at: Date.now() };
        sent.push(s);
        try {
          s.answer = await client.upload(auth, freshPhoto(smallPhotos[i % smallPhotos.length]), {
            mode: 'async',
            num_captions: '2',
          });
        } catch (err) {
          s.error = (err as Error).message;
        }
        await sleep(100);
      }
    };
    const load = Promise.all([loop(0), loop(1)]);
    // Also when an assertion fails: no request may outlive the test (its stack is killed after it).
    t.after(async () => {
      loading = false;
      await load;
    });
    await sleep(3000);
    // Three sync requests whose jobs are queued: they are waiting for a result when Redis dies.
    const syncImages = [0, 1, 2].map((i) => freshPhoto(smallPhotos[i]));
    const syncInFlight = syncImages.map((b) => client.upload(auth, b));
    const q = inspector(redis.url);
    try {
      await waitFor(
        'the sync jobs to be queued',
        async () => {
          const jobs = await Promise.all(syncImages.map((b) => q.getJob(internalIdOf(b, version))));
          return jobs.every((j) => j !== undefined) ? true : undefined;
        },
        30_000,
        50,
      );
    } finally {
      await q.close();
    }

    await redis.kill();
    const downAt = Date.now();
    await sleep(1000);
    const live = await client.request('GET', '/health/live');
    assert.equal(live.status, 200, 'the API must stay alive');
    assert.equal((await client.request('GET', '/health/ready')).status, 503);
    assert.equal((await fetch(`${workerProc.url}/health/live`)).status, 200, 'the worker must stay alive');
    const cacheErrors = await metric(apiProc, 'captioner_cache_requests_total', { result: 'error' });
    const repeat = await client.upload(auth, cachedImage);
    assertProblem(repeat, 503);
    assert.ok(repeat.ms < 1000, `a request for a cached image took ${repeat.ms} ms while Redis was down`);
    assert.ok(
      (await metric(apiProc, 'captioner_cache_requests_total', { result: 'error' })) > cacheErrors,
      'the cache read was not counted as an error (miss)',
    );
    // Probes: small async uploads, refused with 503 in under a second each (no waiting on Redis). The
    // load's own requests (100 kB photos) are also all 503; their latency includes the upload on a busy
    // machine and is printed.
    const tiny = readFileSync(join(imagesDir, 'formats', 'tbgn2c16.png'));
    const probeMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const a = await client.upload(auth, Buffer.concat([tiny, Buffer.from(`${i}-${Date.now()}`)]), {
        mode: 'async',
      });
      assertProblem(a, 503);
      probeMs.push(a.ms);
    }
    assert.ok(Math.max(...probeMs) < 1000, `503s took ${probeMs.map((m) => m.toFixed(0)).join(', ')} ms`);
    await sleep(2000);

    await redis.restart();
    const upAt = Date.now();
    const apiBack = await waitFor(
      'the API to accept a job again',
      () => sent.find((s) => s.at >= upAt && s.answer?.status === 202),
      RECONNECT_BOUND_MS + 10_000,
      100,
    );
    const apiMs = apiBack.at + (apiBack.answer?.ms ?? 0) - upAt;
    await workerProc.waitFor('/health/ready', 200, RECONNECT_BOUND_MS + 10_000);
    const workerReadyMs = Date.now() - upAt;
    const fresh = await client.upload(auth, freshPhoto('flowers.jpeg'));
    const workerMs = Date.now() - upAt;
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    loading = false;
    await load;

    const during = sent.filter((s) => s.at >= downAt + 200 && s.at + (s.answer?.ms ?? 0) < upAt);
    for (const s of during) {
      assert.equal(s.error, undefined, `a request failed at the transport level: ${s.error}`);
      assertProblem(s.answer as Answer, 503);
    }
    const refusedMs = during.map((s) => s.answer?.ms ?? 0);
    assert.ok(during.length >= 10, `only ${during.length} requests during the outage`);
    for (const s of sent) {
      assert.equal(s.error, undefined, `a request failed at the transport level: ${s.error}`);
      assert.ok([202, 503].includes(s.answer?.status ?? 0), `unexpected ${s.answer?.status}`);
    }

    // Accounting: every accepted job (before, during and after the restart) ends, none is lost.
    const syncAnswers = await Promise.all(syncInFlight);
    const accepted = sent.filter((s) => s.answer?.status === 202).map((s) => String(s.answer?.body.job_id));
    for (const a of syncAnswers) {
      assert.ok([200, 202, 503].includes(a.status), `a sync request in flight got ${a.status}`);
      if (a.status === 202) accepted.push(String(a.body.job_id));
    }
    const acceptedBefore = sent.filter((s) => s.at < downAt && s.answer?.status === 202).length;
    const settled = await settleAll(client, auth, accepted, 4 * LOCK_MS + 60_000);
    const allDoneMs = Date.now() - upAt;
    const outcome = new Map<string, number>();
    for (const s of settled) {
      assert.equal(s.answer.status, 200, `job ${s.id}: ${JSON.stringify(s.answer.body)}`);
      const body = s.answer.body as { status: string; error?: { code: string } };
      assert.ok(
        body.status === 'success' || (body.status === 'failed' && body.error?.code !== 'job.expired'),
      );
      const key = body.status === 'success' ? 'success' : `failed:${body.error?.code}`;
      outcome.set(key, (outcome.get(key) ?? 0) + 1);
    }
    figure(
      `Redis restart: ${acceptedBefore} jobs accepted before the crash, ${during.length} requests during the ${((upAt - downAt) / 1000).toFixed(1)} s outage all 503 (p50 ${percentile(refusedMs, 50).toFixed(0)} ms, max ${Math.max(...refusedMs).toFixed(0)} ms); 10 small probes 503 in at most ${Math.max(...probeMs).toFixed(0)} ms; cached image -> miss -> 503 in ${repeat.ms.toFixed(0)} ms`,
    );
    figure(
      `Redis restart: API accepting again ${(apiMs / 1000).toFixed(1)} s after Redis returned, worker ready after ${(workerReadyMs / 1000).toFixed(1)} s, a new sync caption done after ${(workerMs / 1000).toFixed(1)} s; sync requests in flight: ${syncAnswers.map((a) => a.status).join(', ')}`,
    );
    figure(
      `Redis restart: ${accepted.length} accepted jobs accounted for ${(allDoneMs / 1000).toFixed(1)} s after Redis returned: ${[...outcome].map(([k, v]) => `${v} ${k}`).join(', ')}`,
    );
    assert.ok(acceptedBefore >= 5, `only ${acceptedBefore} jobs accepted before the restart`);
    assert.ok(apiMs < RECONNECT_BOUND_MS, `the API took ${apiMs} ms to accept jobs again`);
    assert.ok(workerMs < RECONNECT_BOUND_MS, `the worker took ${workerMs} ms to caption again`);
  },
);
