/**
 * Embedded mode end to end: one API process (no REDIS_URL) runs the model in-process with the memory
 * cache; the shared API suite over real HTTP, then the sync timeout fallback and graceful shutdown.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoopbackServer } from '../helpers/image-server';
import { imagesDir } from '../helpers/paths';
import { baseEnv, startApi, type ServiceProcess } from '../helpers/processes';
import { bearer } from '../helpers/tokens';
import { apiSuite, assertSuccess, type Stack } from './support/api-suite';
import { ApiClient } from './support/http';

const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;
const RATE_LIMIT = 300;
let stack: Stack;
let allowed: LoopbackServer;
let trap: LoopbackServer;
let api: ServiceProcess;

before(async () => {
  trap = await LoopbackServer.start('127.0.0.1');
  allowed = await LoopbackServer.start('127.0.0.2', () => `http://127.0.0.1:${trap.port}/photos/concert.jpg`);
  api = await startApi(
    baseEnv({
      REDIS_URL: undefined,
      URL_FETCH_ALLOWLIST: '127.0.0.2/32',
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      RATE_LIMIT_LIMIT: String(RATE_LIMIT),
      SYNC_TIMEOUT_MS: '30000',
    }),
  );
  await api.waitFor('/health/ready');
  stack = {
    mode: 'embedded',
    api,
    inference: api,
    allowed,
    trap,
    maxUploadBytes: MAX_UPLOAD_BYTES,
    rateLimit: RATE_LIMIT,
  };
});

after(async () => {
  if (api?.running) await api.stop('SIGKILL');
  await allowed?.close();
  await trap?.close();
});

apiSuite(() => stack);

test(
  'embedded: SIGTERM lets in-flight requests finish, then the process exits',
  { timeout: 120_000 },
  async () => {
    const client = new ApiClient(api.url);
    const auth = await bearer(`e2e-${randomUUID()}`);
    const files = ['Landscape_7.jpg', 'Landscape_8.jpg', 'Portrait_6.jpg', 'Portrait_8.jpg'];
    const inflight = files.map((f) =>
      client.upload(auth, Buffer.concat([readFileSync(join(imagesDir, 'photos', f)), randomBytes(8)]), {
        num_captions: '3',
      }),
    );
    await new Promise((r) => setTimeout(r, 150)); // the requests are being read and queued
    const stopping = api.stop('SIGTERM', 60_000);
    const answers = await Promise.all(inflight);
    for (const a of answers) assertSuccess(a);
    const { code, ms } = await stopping;
    assert.equal(code, 0, api.tail());
    console.log(`# embedded API drained ${answers.length} in-flight captions and exited in ${ms} ms`);
  },
);

test(
  'embedded: a sync request over SYNC_TIMEOUT_MS answers 202, and the job completes',
  { timeout: 120_000 },
  async () => {
    const slow = await startApi(baseEnv({ REDIS_URL: undefined, SYNC_TIMEOUT_MS: '0' }));
    try {
      await slow.waitFor('/health/ready');
      const client = new ApiClient(slow.url);
      const auth = await bearer(`e2e-${randomUUID()}`);
      const a = await client.upload(auth, join(imagesDir, 'photos', 'flowers.jpeg'));
      assert.equal(a.status, 202, JSON.stringify(a.body));
      const done = await client.settle(auth, String(a.body.job_id));
      assert.equal(done.body.status, 'success');
      // Now it is cached: a sync request answers 200 at once whatever the timeout.
      assert.equal((await client.upload(auth, join(imagesDir, 'photos', 'flowers.jpeg'))).body.cached, true);
    } finally {
      await slow.stop('SIGTERM');
    }
  },
);
