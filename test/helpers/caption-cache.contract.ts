/** One contract for every CaptionCache adapter (memory in unit, Redis in medium). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CachedCaptions, CaptionCache } from '../../src/cache/caption-cache.port';
import type { CacheResult } from '../../src/cache/cache-result';
import { sleep } from './time';

export interface CacheUnderTest {
  cache: CaptionCache;
  /** Every result the adapter reported, in order. */
  results: CacheResult[];
  cleanup(): Promise<void>;
}

export function sampleValue(text = 'a dog running on a beach'): CachedCaptions {
  return {
    captions: [
      { text, confidence: 0.83 },
      { text: `${text} at sunset — 日本語 ok`, confidence: 0.41 },
    ],
    model: { id: 'Salesforce/blip-image-captioning-base', version: '0123456789abcdef' },
    image: { sha256: 'a'.repeat(64), width: 640, height: 480 },
  };
}

/** `skip` is asked at run time (after the suite's `before` hooks): a reason skips the test. */
export function captionCacheContract(
  adapter: string,
  make: () => Promise<CacheUnderTest>,
  skip: () => string | undefined = () => undefined,
): void {
  const it = (name: string, fn: (c: CacheUnderTest) => Promise<void>): void => {
    test(`${adapter}: ${name}`, async (t) => {
      const reason = skip();
      if (reason !== undefined) return t.skip(reason);
      const c = await make();
      try {
        await fn(c);
      } finally {
        await c.cleanup();
      }
    });
  };
  const key = (): string => `contract:${randomUUID()}`;

  it('an unknown key is a miss, and is reported as one', async ({ cache, results }) => {
    assert.equal(await cache.get(key()), undefined);
    assert.deepEqual(results, ['miss']);
  });

  it('set then get returns an equal value, reported as a hit', async ({ cache, results }) => {
    const k = key();
    await cache.set(k, sampleValue(), 60);
    assert.deepEqual(await cache.get(k), sampleValue());
    assert.deepEqual(results, ['hit']);
  });

  it('a value read back is a copy: mutating it does not change the cache', async ({ cache }) => {
    const k = key();
    await cache.set(k, sampleValue(), 60);
    const first = await cache.get(k);
    assert.ok(first);
    first.captions[0].text = 'changed';
    assert.equal((await cache.get(k))?.captions[0].text, 'a dog running on a beach');
  });

  it('a later set replaces the value; keys are independent', async ({ cache }) => {
    const a = key();
    const b = key();
    await cache.set(a, sampleValue('one'), 60);
    await cache.set(a, sampleValue('two'), 60);
    await cache.set(b, sampleValue('three'), 60);
    assert.equal((await cache.get(a))?.captions[0].text, 'two');
    assert.equal((await cache.get(b))?.captions[0].text, 'three');
  });

  it('an entry expires after its TTL', async ({ cache }) => {
    const k = key();
    await cache.set(k, sampleValue(), 1);
    assert.ok(await cache.get(k));
    await sleep(1300);
    assert.equal(await cache.get(k), undefined);
  });

  it('ping resolves while the store answers', async ({ cache }) => {
    await cache.ping();
  });
}
