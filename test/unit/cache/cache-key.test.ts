import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  captionCacheKey,
  normalizeOptions,
  subjectScope,
  withDerivedSeed,
} from '../../../src/cache/cache-key';
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

test('generation options (issue 11): each one changes the key; defaults and options of other modes do not', () => {
  const base = captionCacheKey(sha, 'v', { numCaptions: 3 });
  const before11 = createHash('sha256')
    .update(JSON.stringify([null, 3]))
    .digest('hex')
    .slice(0, 16);
  assert.ok(base.endsWith(`:${before11}`), 'a default request keeps the key it had before issue 11');
  assert.equal(
    base,
    captionCacheKey(sha, 'v', { numCaptions: 3, decoding: 'beam', numBeams: 3, maxNewTokens: 20 }),
  );
  assert.equal(
    base,
    captionCacheKey(sha, 'v', {
      numCaptions: 3,
      minNewTokens: 0,
      repetitionPenalty: 1,
      lengthPenalty: 1,
      topP: 0.5,
    }),
    'top_p has no effect on beam search',
  );
  const variants = [
    { decoding: 'diverse' as const },
    { decoding: 'diverse' as const, diversityPenalty: 2 },
    { decoding: 'diverse' as const, numBeams: 6 },
    { decoding: 'sample' as const, seed: 1 },
    { decoding: 'sample' as const, seed: 2 },
    { decoding: 'sample' as const, seed: 1, topP: 0.5 },
    { decoding: 'sample' as const, seed: 1, temperature: 0.7 },
    { maxNewTokens: 10 },
    { minNewTokens: 4 },
    { numBeams: 5 },
    { repetitionPenalty: 1.2 },
    { lengthPenalty: 0.5 },
  ];
  const keys = new Set([base, ...variants.map((v) => captionCacheKey(sha, 'v', { numCaptions: 3, ...v }))]);
  assert.equal(keys.size, variants.length + 1);
  assert.deepEqual(
    normalizeOptions({ decoding: 'diverse', numCaptions: 2, diversityPenalty: 1, numBeams: 2 }),
    {
      numCaptions: 2,
      decoding: 'diverse',
    },
  );
});

test('sample: the derived seed depends on the image and the options, and equals an explicit seed of that value', () => {
  const o = normalizeOptions({ decoding: 'sample', numCaptions: 2 });
  const a = withDerivedSeed(o, sha);
  assert.ok(Number.isInteger(a.seed) && (a.seed ?? -1) >= 0 && (a.seed ?? 0) <= 0xffffffff);
  assert.deepEqual(withDerivedSeed(o, sha), a);
  assert.notEqual(withDerivedSeed(o, 'e'.repeat(64)).seed, a.seed);
  assert.notEqual(
    withDerivedSeed(normalizeOptions({ decoding: 'sample', numCaptions: 3 }), sha).seed,
    a.seed,
  );
  const explicit = withDerivedSeed(
    normalizeOptions({ decoding: 'sample', numCaptions: 2, seed: a.seed }),
    sha,
  );
  assert.equal(captionCacheKey(sha, 'v', explicit), captionCacheKey(sha, 'v', a));
  const beam = normalizeOptions({ numCaptions: 2 });
  assert.equal(withDerivedSeed(beam, sha), beam);
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
