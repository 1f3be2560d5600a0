/**
 * Issue 13: readiness depends only on what a process cannot serve without. With private redis-server
 * processes (never the shared one), in both modes: the cache Redis stopped leaves /health/ready at 200
 * (the cache's state is in the body and in captioner_dependency_up) and captions are still served, as
 * misses; in queue mode the queue Redis stopped turns /health/ready to 503 on the API and the worker.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { metric, type ServiceProcess } from '../helpers/processes';
import { bearer } from '../helpers/tokens';
import { waitFor } from '../helpers/time';
import { CheckedClient } from './support/client';
import { freshPhoto } from './support/images';
import { api, queueEnv, stopAll, TestRedis, worker } from './support/stack';

const servers: TestRedis[] = [];
after(async () => {
  await stopAll(...servers);
});

async function redis(): Promise<TestRedis> {
  const r = await TestRedis.start();
  servers.push(r);
  return r;
}

interface Ready {
  status: number;
  body: { status: string; details: Record<string, { status: string }>; error?: Record<string, unknown> };
}

async function ready(p: ServiceProcess): Promise<Ready> {
  const res = await fetch(`${p.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Ready['body'] };
}

/** Stops the cache Redis and checks every process stays ready while reporting the cache down. */
async function cacheOutage(cache: TestRedis, processes: ServiceProcess[]): Promise<void> {
  await cache.kill();
  for (const p of processes) {
    const r = await waitFor(
      `${p.name} to report the cache down`,
      async () => {
        const r = await ready(p);
        // Ready throughout: never 503 on the way.
        assert.equal(
          r.status,
          200,
          `${p.name} turned unready with only the cache down: ${JSON.stringify(r.body)}`,
        );
        return r.body.details.cache?.status === 'down' ? r : undefined;
      },
      30_000,
      200,
    );
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.error?.cache, undefined);
  }
}

async function captionedTwice(client: CheckedClient, auth: Record<string, string>): Promise<Buffer> {
  const image = freshPhoto('concert.jpg');
  const first = await client.upload(auth, image);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal((await client.upload(auth, image)).body.cached, true);
  return image;
}

test(
  'embedded mode: the cache Redis stopped, /health/ready stays 200 and captions are served as misses',
  { timeout: 240_000 },
  async () => {
    const cache = await redis();
    const env = await queueEnv('', {
      REDIS_URL: undefined,
      CACHE_REDIS_URL: cache.url,
      RATE_LIMIT_LIMIT: '100000',
    });
    const p = await api(env);
    const client = new CheckedClient(p.url);
    const auth = await bearer(`ready-${randomUUID()}`);
    assert.equal((await ready(p)).body.details.cache.status, 'up');
    const image = await captionedTwice(client, auth);

    await cacheOutage(cache, [p]);
    const errorsBefore = await metric(p, 'captioner_cache_requests_total', { result: 'error' });
    const again = await client.upload(auth, image);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.cached, false, 'served as a miss');
    assert.ok((again.body.captions as unknown[]).length > 0);
    assert.ok((await metric(p, 'captioner_cache_requests_total', { result: 'error' })) > errorsBefore);
    assert.equal(await metric(p, 'captioner_dependency_up', { dependency: 'cache' }), 0);

    await cache.restart();
    await waitFor(
      'the cache to be reported up again',
      async () => ((await ready(p)).body.details.cache?.status === 'up' ? true : undefined),
      30_000,
      200,
    );
    assert.equal(await metric(p, 'captioner_dependency_up', { dependency: 'cache' }), 1);
  },
);

test(
  'queue mode: cache Redis stopped -> ready 200 and misses served; queue Redis stopped -> 503',
  { timeout: 300_000 },
  async () => {
    const queue = await redis();
    const cache = await redis();
    const env = await queueEnv(queue.url, { CACHE_REDIS_URL: cache.url, RATE_LIMIT_LIMIT: '100000' });
    const [w, a] = await Promise.all([worker(env), api(env)]);
    const client = new CheckedClient(a.url);
    const auth = await bearer(`ready-${randomUUID()}`);
    const image = await captionedTwice(client, auth);

    await cacheOutage(cache, [a, w]);
    const again = await client.upload(auth, image);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.cached, false, 'served as a miss');
    assert.equal(await metric(a, 'captioner_dependency_up', { dependency: 'cache' }), 0);
    assert.equal(await metric(a, 'captioner_dependency_up', { dependency: 'queue' }), 1);

    await queue.kill();
    for (const p of [a, w]) {
      const r = await waitFor(
        `${p.name} to turn unready without its queue`,
        async () => {
          const r = await ready(p);
          return r.status === 503 ? r : undefined;
        },
        30_000,
        200,
      );
      assert.equal(r.body.status, 'error');
      assert.equal(r.body.details.queue.status, 'down');
    }
    assert.equal((await fetch(`${a.url}/health/live`)).status, 200, 'the API stays alive');
    assert.equal((await fetch(`${w.url}/health/live`)).status, 200, 'the worker stays alive');
  },
);
