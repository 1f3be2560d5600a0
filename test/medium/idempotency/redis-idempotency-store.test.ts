/** The idempotency store contract against a real Redis, and a fast refusal when Redis is not there. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../src/common/app-error';
import { IdempotencyService } from '../../../src/idempotency/idempotency.service';
import { IdempotencySettings } from '../../../src/idempotency/idempotency.settings';
import { RedisIdempotencyStore } from '../../../src/idempotency/redis-idempotency-store.adapter';
import { idempotencyStoreContract } from '../../helpers/idempotency-store.contract';
import { freePort, sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';
import { waitFor } from '../../helpers/time';

let skip: string | undefined;
before(async () => {
  skip = await sharedRedisOrSkip();
});

idempotencyStoreContract(
  'RedisIdempotencyStore',
  async () => {
    const store = new RedisIdempotencyStore(sharedRedisUrl);
    return { store, cleanup: () => store.close() };
  },
  () => skip,
);

test('with nothing listening, begin rejects (the service answers 503) instead of hanging', async () => {
  const store = new RedisIdempotencyStore(`redis://127.0.0.1:${await freePort()}`);
  try {
    await assert.rejects(store.begin('captioner:test:idempotency:x', 'fp', 60));
  } finally {
    await store.close();
  }
});

test('two API replicas (two services, two Redis clients) share the keys: one runs, the other 409s, then replays', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const stores = [new RedisIdempotencyStore(sharedRedisUrl), new RedisIdempotencyStore(sharedRedisUrl)];
  const [a, b] = stores.map((s) => new IdempotencyService(s, new IdempotencySettings()));
  try {
    const run = { subject: `s-${randomUUID()}`, key: randomUUID(), fingerprint: 'fp', leaseSeconds: 60 };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let runs = 0;
    const answer = async () => {
      runs++;
      await gate;
      return { statusCode: 202, body: { job_id: 'j-1' }, headers: { location: '/api/v1/caption/j-1' } };
    };
    const first = a.run(run, answer);
    await waitFor('the first replica to take the key', async () => (runs === 1 ? true : undefined), 5000);
    await assert.rejects(
      b.run(run, answer),
      (err: unknown) => err instanceof AppError && err.problem.status === 409,
    );
    release();
    assert.deepEqual((await first).body, { job_id: 'j-1' });
    const replay = await b.run(run, answer);
    assert.deepEqual(replay.body, { job_id: 'j-1' });
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    await assert.rejects(
      b.run({ ...run, fingerprint: 'other' }, answer),
      (err: unknown) => err instanceof AppError && err.problem.status === 422,
    );
    assert.equal(runs, 1);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});
