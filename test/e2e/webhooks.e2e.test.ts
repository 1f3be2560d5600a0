/**
 * Webhooks end to end, in both modes, with real processes over real HTTP: a receiver on loopback
 * (allowed through WEBHOOK_ALLOWLIST) verifies every delivery with the `standardwebhooks` verifier.
 * Events and bodies, retries after 500s, a receiver that is down then up, a worker killed while a
 * delivery is in flight (queue mode), slow and redirecting receivers that never block captioning, and
 * the URLs refused at submission.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imagesDir } from '../helpers/paths';
import { baseEnv, startApi, startWorker, type Env, type ServiceProcess } from '../helpers/processes';
import { PrivateRedis, freePort } from '../helpers/redis';
import { waitFor } from '../helpers/time';
import { bearer } from '../helpers/tokens';
import { assertProblem } from './support/api-suite';
import { ApiClient, type Answer } from './support/http';
import { WebhookSink, type Delivery } from './support/webhook-sink';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const WEBHOOK_ENV: Env = {
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_ALLOWLIST: '127.0.0.1/32',
  WEBHOOK_TIMEOUT_MS: '1500',
  WEBHOOK_BACKOFF_MS: '200',
  WEBHOOK_MAX_ATTEMPTS: '10',
  SYNC_TIMEOUT_MS: '30000',
};

const photo = (): Buffer =>
  Buffer.concat([readFileSync(join(imagesDir, 'photos', '320x240.jpg')), randomBytes(16)]);
const hookPath = (): string => `/hook/${randomUUID()}`;

interface Stack {
  api: ServiceProcess;
  client: ApiClient;
  auth: Record<string, string>;
}

async function submit(s: Stack, url: string, events = 'started,completed'): Promise<string> {
  const a = await s.client.upload(s.auth, photo(), { webhook_url: url, webhook_events: events });
  assert.equal(a.status, 202, JSON.stringify(a.body));
  return String(a.body.job_id);
}

/** Waits until `path` has a delivery that the receiver accepted with a verified signature. */
async function delivered(
  sink: WebhookSink,
  path: string,
  event: string,
  timeoutMs = 90_000,
): Promise<Delivery> {
  return waitFor(
    `a verified ${event} delivery on ${path}`,
    () =>
      sink
        .on(path)
        .filter((d) => d.verified)
        .find((d) => d.answer === 'ok' && d.headers['webhook-id']?.endsWith(`-${event}`)),
    timeoutMs,
    100,
  );
}

/** Plans `path` to fail its first `n` requests (500 or hanging), then accept. */
function failFirst(
  sink: WebhookSink,
  path: string,
  n: number,
  answer: 'error' | 'hang' | 'reset' = 'error',
): void {
  sink.plan(path, (i) => (i < n ? answer : 'ok'));
}

async function webhookDoc(s: Stack, jobId: string): Promise<Record<string, unknown>> {
  const a = await s.client.job(s.auth, jobId);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  return a.body;
}

function webhookState(doc: Record<string, unknown>): {
  status: string;
  attempts: number;
  last_status_code?: number;
} {
  return doc.webhook as { status: string; attempts: number; last_status_code?: number };
}

/** The scenarios every mode runs. */
function webhookScenarios(stack: () => Stack, sink: () => WebhookSink): void {
  test(
    'started and completed arrive signed; the body is the job document',
    { timeout: 120_000 },
    async () => {
      const s = stack();
      const path = hookPath();
      failFirst(sink(), path, 0);
      const jobId = await submit(s, sink().url(path));
      const started = await delivered(sink(), path, 'started');
      const completed = await delivered(sink(), path, 'completed');
      for (const d of sink().on(path)) assert.ok(d.verified, `signature refused: ${d.error}`);
      assert.equal(started.headers['webhook-id'], `wh-${jobId}-started`);
      assert.equal(completed.headers['webhook-id'], `wh-${jobId}-completed`);
      assert.match(completed.headers['content-type'], /^application\/json/);
      assert.equal((JSON.parse(started.body) as { job_id: string }).job_id, jobId);
      const body = JSON.parse(completed.body) as Record<string, unknown>;
      assert.equal(body.status, 'success', completed.body);
      const doc = await waitFor(
        'the job document to show the completed delivery',
        async () => {
          const d = await webhookDoc(s, jobId);
          const all = sink().on(path).length;
          return webhookState(d)?.status === 'delivered' && all >= 2 ? d : undefined;
        },
        30_000,
        200,
      );
      const { webhook, ...rest } = doc;
      assert.equal(webhookState({ webhook }).status, 'delivered');
      assert.deepEqual(body, rest);
    },
  );

  test(
    'a receiver answering 500 three times gets the delivery later, same webhook-id',
    { timeout: 120_000 },
    async () => {
      const s = stack();
      const path = hookPath();
      failFirst(sink(), path, 3);
      const jobId = await submit(s, sink().url(path), 'completed');
      const ok = await delivered(sink(), path, 'completed');
      const all = sink().on(path);
      assert.equal(all.length, 4, `${all.length} deliveries`);
      for (const d of all) {
        assert.ok(d.verified, `signature refused: ${d.error}`);
        assert.equal(d.headers['webhook-id'], ok.headers['webhook-id']);
      }
      const doc = await waitFor(
        'the job document to show 4 attempts',
        async () => {
          const d = await webhookDoc(s, jobId);
          return webhookState(d)?.status === 'delivered' ? d : undefined;
        },
        30_000,
        200,
      );
      assert.equal(webhookState(doc).attempts, 4);
      assert.equal(webhookState(doc).last_status_code, 204);
    },
  );

  test(
    'a receiver resetting the connection twice gets the delivery later',
    { timeout: 120_000 },
    async () => {
      const s = stack();
      const path = hookPath();
      failFirst(sink(), path, 2, 'reset');
      const jobId = await submit(s, sink().url(path), 'completed');
      await delivered(sink(), path, 'completed');
      assert.equal(sink().on(path).length, 3);
      const w = await waitFor(
        'delivered in the job document',
        async () => {
          const st = webhookState(await webhookDoc(s, jobId));
          return st?.status === 'delivered' ? st : undefined;
        },
        30_000,
        200,
      );
      assert.equal(w.attempts, 3);
    },
  );

  test('the job document shows failed attempts with the last status code', { timeout: 120_000 }, async () => {
    const s = stack();
    const path = hookPath();
    failFirst(sink(), path, 1000);
    const jobId = await submit(s, sink().url(path), 'completed');
    const doc = await waitFor(
      'two failed attempts in the job document',
      async () => {
        const d = await webhookDoc(s, jobId);
        const w = webhookState(d);
        return w !== undefined && w.attempts >= 2 ? d : undefined;
      },
      60_000,
      200,
    );
    assert.equal(doc.status, 'success', 'the caption is not lost');
    assert.equal(webhookState(doc).status, 'pending');
    assert.equal(webhookState(doc).last_status_code, 500);
  });

  test('a receiver that is down, then up, gets the delivery', { timeout: 120_000 }, async () => {
    const s = stack();
    const down = new WebhookSink(SECRET, await freePort());
    try {
      const path = hookPath();
      failFirst(down, path, 0);
      const jobId = await submit(s, down.url(path), 'completed');
      await waitFor(
        'two refused connections',
        async () => {
          const w = webhookState(await webhookDoc(s, jobId));
          return w !== undefined && w.attempts >= 2 ? w : undefined;
        },
        60_000,
        100,
      );
      assert.equal(down.received.length, 0);
      await down.listen();
      const d = await delivered(down, path, 'completed');
      assert.equal(d.headers['webhook-id'], `wh-${jobId}-completed`);
      const doc = await waitFor(
        'delivered in the job document',
        async () => {
          const doc = await webhookDoc(s, jobId);
          return webhookState(doc)?.status === 'delivered' ? doc : undefined;
        },
        30_000,
        200,
      );
      assert.ok(webhookState(doc).attempts >= 3);
    } finally {
      await down.close();
    }
  });

  test('slow and redirecting receivers never block captioning', { timeout: 180_000 }, async () => {
    const s = stack();
    const slow = hookPath();
    const moved = hookPath();
    sink().plan(slow, () => 'hang');
    sink().plan(moved, () => 'redirect');
    const hooked = [
      await submit(s, sink().url(slow)),
      await submit(s, sink().url(slow)),
      await submit(s, sink().url(moved)),
    ];
    await waitFor(
      'the slow receiver to hang a delivery',
      () => (sink().on(slow).length >= 1 ? true : undefined),
      60_000,
      100,
    );
    // Meanwhile, other captions complete (sync and async).
    const sync = await s.client.upload(s.auth, photo(), { mode: 'sync' });
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    const others: Answer[] = [];
    for (let i = 0; i < 3; i++) others.push(await s.client.upload(s.auth, photo(), { mode: 'async' }));
    for (const a of others) {
      assert.equal(a.status, 202, JSON.stringify(a.body));
      assert.equal((await s.client.settle(s.auth, String(a.body.job_id), 90_000)).body.status, 'success');
    }
    for (const id of hooked) {
      assert.equal(
        (await s.client.settle(s.auth, id, 90_000)).body.status,
        'success',
        'the caption is not lost',
      );
    }
    const redirected = await waitFor(
      'a refused redirect in the job document',
      async () => {
        const w = webhookState(await webhookDoc(s, hooked[2]));
        return w?.last_status_code === 302 ? w : undefined;
      },
      60_000,
      200,
    );
    assert.equal(redirected.status, 'pending');
    const timedOut = await waitFor(
      'two timed-out attempts on the slow receiver',
      async () => {
        const w = webhookState(await webhookDoc(s, hooked[0]));
        return w !== undefined && w.attempts >= 2 ? w : undefined;
      },
      60_000,
      200,
    );
    assert.equal(timedOut.status, 'pending');
    assert.equal(timedOut.last_status_code, undefined, 'a timeout has no status code');
    assert.ok(sink().on(`${moved}/moved`).length === 0, 'a redirect was followed');
  });

  test(
    'every subscriber of one image gets its own delivery; a cache hit answers 200 at once',
    { timeout: 120_000 },
    async () => {
      const s = stack();
      const image = photo();
      const paths = [hookPath(), hookPath()];
      const other = await bearer(`wh-${randomUUID()}`);
      const send = (auth: Record<string, string>, path: string): Promise<Answer> =>
        s.client.upload(auth, image, { webhook_url: sink().url(path), webhook_events: 'completed' });
      // Two owners at once: one inference may serve both, each gets its own job and delivery.
      const both = await Promise.all([send(s.auth, paths[0]), send(other, paths[1])]);
      for (const a of both) assert.equal(a.status, 202, JSON.stringify(a.body));
      const ids = both.map((a) => String(a.body.job_id));
      assert.notEqual(ids[0], ids[1]);
      for (const [i, path] of paths.entries()) {
        const d = await delivered(sink(), path, 'completed');
        assert.equal(d.headers['webhook-id'], `wh-${ids[i]}-completed`);
        const body = JSON.parse(d.body) as { job_id: string; status: string };
        assert.equal(body.job_id, ids[i]);
        assert.equal(body.status, 'success');
      }
      // Once cached, the answer is there at once: 200, no job and so no webhook (docs/decisions.md).
      const hit = await send(s.auth, hookPath());
      assert.equal(hit.status, 200, JSON.stringify(hit.body));
      assert.equal(hit.body.cached, true);
    },
  );

  test('refused webhook URLs are 400 problem+json', { timeout: 60_000 }, async () => {
    const s = stack();
    const cases: [Record<string, string>, RegExp | undefined][] = [
      [{ webhook_url: 'ftp://127.0.0.1/hook' }, /http/],
      [{ webhook_url: `http://127.0.0.1/${'a'.repeat(2100)}` }, /webhook_url/],
      [{ webhook_url: 'http://10.1.2.3/hook' }, undefined],
      [{ webhook_url: 'http://[::1]:9/hook' }, undefined],
      [{ webhook_url: sink().url('/x'), webhook_events: 'started,finished' }, /webhook_events/],
      [{ webhook_events: 'completed' }, /webhook_url/],
    ];
    for (const [fields, detail] of cases) {
      const a = await s.client.upload(s.auth, photo(), fields);
      assertProblem(a, 400, detail);
    }
    const json = await s.client.json(s.auth, {
      image_base64: photo().toString('base64'),
      webhook_url: 'http://192.168.1.1/hook',
    });
    assertProblem(json, 400);
    // A long URL within the limit (2048 characters) is accepted in a form as in JSON.
    const long = `/${'a'.repeat(2000)}`;
    const jobId = await submit(s, sink().url(long), 'completed');
    assert.equal((await s.client.settle(s.auth, jobId, 90_000)).body.status, 'success');
    await delivered(sink(), long, 'completed');
  });
}

describe('embedded mode', () => {
  let sink: WebhookSink;
  let stack: Stack;
  before(async () => {
    sink = await WebhookSink.start(SECRET);
    const api = await startApi(baseEnv({ REDIS_URL: undefined, ...WEBHOOK_ENV }));
    await api.waitFor('/health/ready');
    stack = { api, client: new ApiClient(api.url), auth: await bearer(`wh-${randomUUID()}`) };
  });
  after(async () => {
    if (stack?.api.running) await stack.api.stop('SIGKILL');
    await sink?.close();
  });
  webhookScenarios(
    () => stack,
    () => sink,
  );
});

describe('queue mode', () => {
  let sink: WebhookSink;
  let redis: PrivateRedis;
  let stack: Stack;
  let worker: ServiceProcess;
  const processes: ServiceProcess[] = [];
  let env: Env;
  before(async () => {
    sink = await WebhookSink.start(SECRET);
    redis = await PrivateRedis.start();
    env = baseEnv({
      REDIS_URL: redis.url,
      QUEUE_NAME: 'wh-e2e',
      JOB_LOCK_DURATION_MS: '5000',
      JOB_STALLED_INTERVAL_MS: '2000',
      ...WEBHOOK_ENV,
    });
    const [api, w] = await Promise.all([startApi(env), startWorker(env)]);
    processes.push(api, w);
    worker = w;
    await api.waitFor('/health/ready', 200, 60_000);
    stack = { api, client: new ApiClient(api.url), auth: await bearer(`wh-${randomUUID()}`) };
  });
  after(async () => {
    for (const p of processes) if (p.running) await p.stop('SIGKILL');
    await sink?.close();
    await redis?.destroy();
  });
  webhookScenarios(
    () => stack,
    () => sink,
  );

  test(
    'a worker killed while a delivery is in flight: after a restart it arrives',
    { timeout: 180_000 },
    async () => {
      const path = hookPath();
      failFirst(sink, path, 1, 'hang');
      const jobId = await submit(stack, sink.url(path), 'completed');
      await waitFor(
        'the first (hanging) attempt',
        () => (sink.on(path).length >= 1 ? true : undefined),
        60_000,
        20,
      );
      const killed = await worker.stop('SIGKILL');
      assert.equal(killed.signal, 'SIGKILL');
      worker = await startWorker(env);
      processes.push(worker);
      const d = await delivered(sink, path, 'completed', 120_000);
      assert.equal(d.headers['webhook-id'], `wh-${jobId}-completed`);
      for (const r of sink.on(path)) assert.ok(r.verified, `signature refused: ${r.error}`);
      const doc = await waitFor(
        'delivered in the job document',
        async () => {
          const doc = await webhookDoc(stack, jobId);
          return webhookState(doc)?.status === 'delivered' ? doc : undefined;
        },
        30_000,
        200,
      );
      assert.equal(doc.status, 'success');
    },
  );

  test(
    'a worker killed twice while a delivery is in flight: it still arrives',
    { timeout: 240_000 },
    async () => {
      const path = hookPath();
      failFirst(sink, path, 2, 'hang');
      const jobId = await submit(stack, sink.url(path), 'completed');
      for (let n = 1; n <= 2; n++) {
        await waitFor(
          `hanging attempt ${n}`,
          () => (sink.on(path).length >= n ? true : undefined),
          120_000,
          20,
        );
        await worker.stop('SIGKILL');
        worker = await startWorker(env);
        processes.push(worker);
      }
      const d = await delivered(sink, path, 'completed', 120_000);
      assert.equal(d.headers['webhook-id'], `wh-${jobId}-completed`);
    },
  );

  test(
    'a job canceled while waiting (no worker) is delivered as canceled once a worker is back',
    { timeout: 180_000 },
    async () => {
      await worker.stop('SIGKILL');
      const path = hookPath();
      const jobId = await submit(stack, sink.url(path), 'started,completed');
      const cancel = await stack.client.request('POST', `/api/v1/caption/${jobId}/cancel`, {
        headers: stack.auth,
      });
      assert.ok(cancel.status === 200 || cancel.status === 202, JSON.stringify(cancel.body));
      assert.equal((await webhookDoc(stack, jobId)).status, 'canceled');
      worker = await startWorker(env);
      processes.push(worker);
      const d = await delivered(sink, path, 'completed', 120_000);
      const body = JSON.parse(d.body) as { job_id: string; status: string };
      assert.equal(body.job_id, jobId);
      assert.equal(body.status, 'canceled');
      assert.equal(sink.on(path).filter((r) => r.headers['webhook-id']?.endsWith('-started')).length, 0);
    },
  );

  test(
    'a worker killed while a delivery waits for its retry: after a restart it arrives',
    { timeout: 180_000 },
    async () => {
      const path = hookPath();
      failFirst(sink, path, 2);
      const jobId = await submit(stack, sink.url(path), 'completed');
      await waitFor('a failed attempt', () => (sink.on(path).length >= 1 ? true : undefined), 60_000, 20);
      await worker.stop('SIGKILL');
      worker = await startWorker(env);
      processes.push(worker);
      const d = await delivered(sink, path, 'completed', 120_000);
      assert.equal(d.headers['webhook-id'], `wh-${jobId}-completed`);
      assert.ok(sink.on(path).length >= 3);
    },
  );
});
