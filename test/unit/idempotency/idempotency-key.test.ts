import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../src/common/app-error';
import {
  idempotencyStoreKey,
  parseIdempotencyKey,
  requestFingerprint,
} from '../../../src/idempotency/idempotency-key';
import { requestsRevalidation, cacheStatus } from '../../../src/cache/cache-status';

test('Idempotency-Key: sf-string or bare token of 1-255 printable ASCII characters', () => {
  assert.equal(parseIdempotencyKey(undefined), undefined);
  assert.equal(parseIdempotencyKey('"abc"'), 'abc');
  assert.equal(parseIdempotencyKey('"a\\"b"'), 'a"b');
  assert.equal(parseIdempotencyKey('abc def'), 'abc def');
  for (const bad of ['', '""', 'x'.repeat(256), 'café', 'tab\there', 'nul\u0000', ['a', 'b']]) {
    assert.throws(
      () => parseIdempotencyKey(bad),
      (err: unknown) => err instanceof AppError && err.problem.status === 400,
      JSON.stringify(bad),
    );
  }
});

test('the fingerprint ignores member order and changes with any field or the image', () => {
  const a = requestFingerprint('aa', { options: { numCaptions: 1, prompt: 'x' }, async: false });
  const b = requestFingerprint('aa', { async: false, options: { prompt: 'x', numCaptions: 1 } });
  assert.equal(a, b);
  assert.notEqual(a, requestFingerprint('ab', { options: { numCaptions: 1, prompt: 'x' }, async: false }));
  assert.notEqual(a, requestFingerprint('aa', { options: { numCaptions: 2, prompt: 'x' }, async: false }));
  assert.notEqual(a, requestFingerprint('aa', { options: { numCaptions: 1, prompt: 'x' }, async: true }));
  assert.notEqual(idempotencyStoreKey('alice', 'k'), idempotencyStoreKey('bob', 'k'));
});

test('Cache-Control on a request: no-cache and max-age=0 ask for a recomputation', () => {
  assert.equal(requestsRevalidation('no-cache'), true);
  assert.equal(requestsRevalidation('max-age=0'), true);
  assert.equal(requestsRevalidation('no-transform, No-Cache'), true);
  assert.equal(requestsRevalidation(['max-age=60']), false);
  assert.equal(requestsRevalidation(undefined), false);
  assert.equal(requestsRevalidation(undefined, 'no-cache'), true);
  assert.equal(requestsRevalidation('max-age=60', 'no-cache'), false);
  assert.equal(cacheStatus('hit'), 'captioner; hit');
  assert.equal(cacheStatus('miss', true), 'captioner; fwd=miss; stored');
  assert.equal(cacheStatus('bypass'), 'captioner; fwd=bypass');
});
