import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captionCacheKey, normalizeOptions, subjectScope } from '../../../src/cache/cache-key';
import { CacheSettings } from '../../../src/cache/cache.settings';
import { loadSettings } from '../../../src/config/load-settings';

const sha = 'f'.repeat(64);

test('the key changes with the image, the model version and each option', () => {
  const base = captionCacheKey(sha, 'v1', {});
  assert.notEqual(base, captionCacheKey('e'.repeat(64), 'v1', {}));
  assert.notEqual(base, captionCacheKey(sha, 'v2', {}));
  assert.notEqual(base, captionCacheKey(sha, 'v1', { prompt: 'a picture of' }));
  assert.notEqual(base, captionCacheKey(sha, 'v1', { numCaptions: 3 }));
  assert.match(base, /^k1:v1:f{64}:[0-9a-f]{16}$/);
  assert.ok(!base.includes('picture'));
});

test('normalization: defaults, whitespace and empty prompts give one key', () => {
  assert.equal(captionCacheKey(sha, 'v', {}), captionCacheKey(sha, 'v', { numCaptions: 1, prompt: '  ' }));
  assert.equal(
    captionCacheKey(sha, 'v', { prompt: 'a  picture\tof ' }),
    captionCacheKey(sha, 'v', { prompt: 'a picture of' }),
  );
  assert.deepEqual(normalizeOptions({ prompt: ' x ' }), { prompt: 'x', numCaptions: 1 });
});

test('a subject scope gives each subject its own key, hashed (the subject never appears)', () => {
  const shared = captionCacheKey(sha, 'v1', {});
  const alice = captionCacheKey(sha, 'v1', {}, subjectScope('alice'));
  const bob = captionCacheKey(sha, 'v1', {}, subjectScope('bob'));
  assert.notEqual(alice, shared);
  assert.notEqual(alice, bob);
  assert.equal(alice, captionCacheKey(sha, 'v1', {}, subjectScope('alice')));
  assert.ok(alice.startsWith(`${shared}:s`));
  assert.ok(!alice.includes('alice'));
});

test('CACHE_SCOPE: shared by default, subject accepted, anything else named at start-up', () => {
  assert.equal(loadSettings(CacheSettings, {}).CACHE_SCOPE, 'shared');
  assert.equal(loadSettings(CacheSettings, { CACHE_SCOPE: 'subject' }).CACHE_SCOPE, 'subject');
  assert.throws(() => loadSettings(CacheSettings, { CACHE_SCOPE: 'tenant' }), /CACHE_SCOPE/);
});
