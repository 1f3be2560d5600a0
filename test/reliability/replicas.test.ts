/**
 * Issue 10 item 7: duplicates across replicas. Two API processes on one Redis receive the same new image
 * at the same moment (several requests each, sync and async); the job id derived from the cache key joins
 * them in the queue, so the worker runs exactly one inference, counted from its own metrics (images
 * through the model: captioner_batch_size_sum), and every client gets the same captions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metric, type ServiceProcess } from '../helpers/processes';
import { bearer } from '../helpers/tokens';
import { waitFor } from '../helpers/time';
import { ApiClient, type Answer } from '../e2e/support/http';
import { photosDir } from './support/images';
import { apisAndWorker, figure, queueEnv, stopAll, TestRedis } from './support/stack';

let redis: TestRedis;
let apis: ServiceProcess[];
let workerProc: ServiceProcess;

before(async () => {
  redis = await TestRedis.start();
  const env = await queueEnv(redis.url, { RATE_LIMIT_LIMIT: '100000', SYNC_TIMEOUT_MS: '60000' });
  ({ apis, worker: workerProc } = await apisAndWorker(env, 2));
  for (const a of apis) {
    const client = new ApiClient(a.url);
    await waitFor(
      'both APIs to see the announced model',
      async () => {
        const r = await client.request('GET', '/api/v1/models', { headers: await bearer('ops') });
        return r.status === 200 ? r : undefined;
      },
      60_000,
      250,
    );
  }
});

after(async () => {
  await stopAll(redis);
});

test(
  'two API replicas, the same new image at once: one inference, the same captions for all',
  { timeout: 180_000 },
  async () => {
    const image = Buffer.concat([readFileSync(join(photosDir, 'Landscape_6.jpg')), randomBytes(16)]);
    const before = await metric(workerProc, 'captioner_batch_size_sum');
    const clients = apis.map((a) => new ApiClient(a.url));
    const sent: { client: ApiClient; auth: Record<string, string>; answer: Promise<Answer> }[] = [];
    for (let i = 0; i < 4; i++) {
      for (const client of clients) {
        const auth = await bearer(`replica-${randomUUID()}`);
        sent.push({ client, auth, answer: client.upload(auth, image, i % 2 === 0 ? {} : { mode: 'async' }) });
      }
    }
    const captions = new Set<string>();
    for (const [i, s] of sent.entries()) {
      const a = await s.answer;
      assert.ok(a.status === 200 || a.status === 202, `request ${i}: ${a.status} ${JSON.stringify(a.body)}`);
      // Async jobs are settled by their owner on the replica that accepted them.
      const done = a.status === 202 ? await s.client.settle(s.auth, String(a.body.job_id)) : a;
      assert.equal(done.body.status, 'success', JSON.stringify(done.body));
      captions.add(JSON.stringify(done.body.captions));
    }
    assert.equal(captions.size, 1, `answers differ: ${[...captions].join(' | ')}`);
    const after = await metric(workerProc, 'captioner_batch_size_sum');
    assert.equal((await metric(workerProc, 'captioner_batch_size_sum')) - before, 1);
    figure(`${sent.length} requests on 2 replicas: ${after - before} image(s) through the model`);
  },
);
