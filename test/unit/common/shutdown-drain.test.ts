import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeController } from './probe.controller';
import { createTestApp } from './test-app';

test('close() lets in-flight requests finish, answers new ones with a 503 problem, keeps liveness', async () => {
  const t = await createTestApp({
    controllers: [ProbeController],
    env: { SHUTDOWN_DRAIN_TIMEOUT_MS: '5000' },
  });
  try {
    const inFlight = t.app.inject({ url: '/api/v1/probe/slow/400' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = t.app.close();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const refused = await t.app.inject({ url: '/api/v1/probe/open' });
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(refused.json().type, 'urn:captioner:problem:service.shutting_down');
    assert.equal(refused.headers.connection, 'close');
    assert.ok(refused.headers['retry-after']);
    assert.equal(refused.headers['x-content-type-options'], 'nosniff', 'security headers on refusals too');
    assert.equal((await t.app.inject({ url: '/health/ready' })).statusCode, 503, 'not ready while draining');
    assert.equal((await t.app.inject({ url: '/health/live' })).statusCode, 200, 'still alive while draining');

    const finished = await inFlight;
    assert.equal(finished.statusCode, 200);
    assert.deepEqual(finished.json(), { waited: 400 });
    await closing;
  } finally {
    await t.close().catch(() => undefined);
  }
});

test('the drain gives up after SHUTDOWN_DRAIN_TIMEOUT_MS', async () => {
  const t = await createTestApp({
    controllers: [ProbeController],
    env: { SHUTDOWN_DRAIN_TIMEOUT_MS: '200' },
  });
  const stuck = t.app.inject({ url: '/api/v1/probe/slow/3000' }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await t.close();
  const took = Date.now() - started;
  assert.ok(took < 2000, `close took ${took} ms`);
  await stuck;
});
