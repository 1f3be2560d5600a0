/** One contract for every IdempotencyStore adapter (memory in unit, Redis in medium). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IdempotencyStore, StoredAnswer } from '../../src/idempotency/idempotency-store.port';
import { sleep } from './time';

const answer: StoredAnswer = {
  statusCode: 202,
  body: { status: 'processing', job_id: 'j1', estimated_time_seconds: 2 },
  headers: { location: '/api/v1/caption/j1', 'cache-status': 'captioner; fwd=miss' },
};

export function idempotencyStoreContract(
  adapter: string,
  make: () => Promise<{ store: IdempotencyStore; cleanup(): Promise<void> }>,
  skip: () => string | undefined = () => undefined,
): void {
  const it = (name: string, fn: (store: IdempotencyStore) => Promise<void>): void => {
    test(`${adapter}: ${name}`, async (t) => {
      const reason = skip();
      if (reason !== undefined) return t.skip(reason);
      const { store, cleanup } = await make();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    });
  };
  const key = (): string => `captioner:test:idempotency:${randomUUID()}`;

  it('the first begin takes the key; the next one sees it in progress', async (store) => {
    const k = key();
    assert.equal(await store.begin(k, 'fp1', 60), undefined);
    assert.deepEqual(await store.begin(k, 'fp1', 60), { fingerprint: 'fp1' });
    assert.deepEqual(await store.begin(k, 'fp2', 60), { fingerprint: 'fp1' });
  });

  it('concurrent begins: exactly one takes the key', async (store) => {
    const k = key();
    const results = await Promise.all(Array.from({ length: 10 }, () => store.begin(k, 'fp', 60)));
    assert.equal(results.filter((r) => r === undefined).length, 1);
  });

  it('complete keeps the answer for replay', async (store) => {
    const k = key();
    await store.begin(k, 'fp', 60);
    await store.complete(k, { fingerprint: 'fp', answer }, 60);
    assert.deepEqual(await store.begin(k, 'fp', 60), { fingerprint: 'fp', answer });
  });

  it('release frees an in-progress key, but never an answered one', async (store) => {
    const k = key();
    await store.begin(k, 'fp', 60);
    await store.release(k, 'fp');
    assert.equal(await store.begin(k, 'fp', 60), undefined);
    await store.complete(k, { fingerprint: 'fp', answer }, 60);
    await store.release(k, 'fp');
    assert.deepEqual(await store.begin(k, 'fp', 60), { fingerprint: 'fp', answer });
  });

  it('a lease and a kept answer expire', async (store) => {
    const a = key();
    const b = key();
    await store.begin(a, 'fp', 1);
    await store.begin(b, 'fp', 60);
    await store.complete(b, { fingerprint: 'fp', answer }, 1);
    await sleep(2100);
    assert.equal(await store.begin(a, 'fp', 60), undefined);
    assert.equal(await store.begin(b, 'fp', 60), undefined);
  });
}
