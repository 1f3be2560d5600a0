/** The idempotency store contract against a real Redis, and a fast refusal when Redis is not there. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisIdempotencyStore } from '../../../src/idempotency/redis-idempotency-store.adapter';
import { idempotencyStoreContract } from '../../helpers/idempotency-store.contract';
import { freePort, sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';

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
