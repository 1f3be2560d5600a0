/** Redis settings: the cluster flags, seed-node lists, and the BullMQ prefix they imply. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSettings } from '../../../src/config/load-settings';
import { bullPrefix, RedisSettings, redisUrls } from '../../../src/config/redis.settings';
import { configError } from '../../helpers/config-error';

test('standalone by default: BullMQ keeps its default prefix', () => {
  const s = loadSettings(RedisSettings, { REDIS_URL: 'redis://r:6379' });
  assert.equal(s.REDIS_CLUSTER, false);
  assert.equal(s.cacheCluster, false);
  assert.equal(bullPrefix(s), 'bull');
});

test('cluster mode: seed-node lists, a hash-tag prefix per QUEUE_NAME, the cache follows REDIS_CLUSTER', () => {
  const s = loadSettings(RedisSettings, {
    REDIS_URL: 'rediss://a:6379, rediss://b:6379',
    REDIS_CLUSTER: 'true',
    QUEUE_NAME: 'captions-eu',
  });
  assert.deepEqual(redisUrls(s.REDIS_URL ?? ''), ['rediss://a:6379', 'rediss://b:6379']);
  assert.equal(bullPrefix(s), '{captions-eu}');
  assert.equal(s.cacheCluster, true, 'the cache on the queue Redis is the same cluster');

  const own = loadSettings(RedisSettings, {
    REDIS_URL: 'redis://q',
    REDIS_CLUSTER: 'yes',
    CACHE_REDIS_URL: 'redis://c',
  });
  assert.equal(own.cacheCluster, true, 'CACHE_REDIS_CLUSTER defaults to REDIS_CLUSTER');
  const standaloneCache = loadSettings(RedisSettings, {
    REDIS_URL: 'redis://q',
    REDIS_CLUSTER: 'true',
    CACHE_REDIS_URL: 'redis://c',
    CACHE_REDIS_CLUSTER: 'false',
  });
  assert.equal(standaloneCache.cacheCluster, false);
  const clusterCache = loadSettings(RedisSettings, {
    REDIS_URL: 'redis://q',
    CACHE_REDIS_URL: 'redis://c1,redis://c2',
    CACHE_REDIS_CLUSTER: '1',
  });
  assert.equal(clusterCache.cacheCluster, true);
  assert.equal(bullPrefix(clusterCache), 'bull', 'the queue stays standalone');
});

test('accepted jobs wait for one replica on a cluster by default, none standalone; both settable', () => {
  assert.equal(loadSettings(RedisSettings, { REDIS_URL: 'redis://q' }).queueWaitReplicas, 0);
  const cluster = loadSettings(RedisSettings, { REDIS_URL: 'redis://q', REDIS_CLUSTER: 'true' });
  assert.equal(cluster.queueWaitReplicas, 1);
  assert.equal(cluster.QUEUE_WAIT_TIMEOUT_MS, 1000);
  const off = loadSettings(RedisSettings, {
    REDIS_URL: 'redis://q',
    REDIS_CLUSTER: 'true',
    QUEUE_WAIT_REPLICAS: '0',
  });
  assert.equal(off.queueWaitReplicas, 0, 'an explicit 0 switches it off on a cluster');
  const replicated = loadSettings(RedisSettings, {
    REDIS_URL: 'redis://q',
    QUEUE_WAIT_REPLICAS: '2',
    QUEUE_WAIT_TIMEOUT_MS: '250',
  });
  assert.equal(replicated.queueWaitReplicas, 2);
  assert.equal(replicated.QUEUE_WAIT_TIMEOUT_MS, 250);
  for (const [env, variable] of [
    [{ QUEUE_WAIT_REPLICAS: '-1' }, 'QUEUE_WAIT_REPLICAS'],
    [{ QUEUE_WAIT_REPLICAS: '6' }, 'QUEUE_WAIT_REPLICAS'],
    [{ QUEUE_WAIT_REPLICAS: 'one' }, 'QUEUE_WAIT_REPLICAS'],
    [{ QUEUE_WAIT_REPLICAS: '1.5' }, 'QUEUE_WAIT_REPLICAS'],
    [{ QUEUE_WAIT_TIMEOUT_MS: '0' }, 'QUEUE_WAIT_TIMEOUT_MS'],
  ] as const) {
    const err = configError(() => loadSettings(RedisSettings, { REDIS_URL: 'redis://q', ...env }));
    assert.deepEqual(err.variables, [variable], JSON.stringify(env));
  }
});

test('bad values are named', () => {
  for (const [env, variable, message] of [
    [{ REDIS_URL: 'redis://a,redis://b' }, 'REDIS_URL', /REDIS_CLUSTER=true/],
    [
      { REDIS_URL: 'redis://q', CACHE_REDIS_URL: 'redis://a,redis://b' },
      'CACHE_REDIS_URL',
      /CACHE_REDIS_CLUSTER=true/,
    ],
    [{ REDIS_URL: 'redis://a,http://b', REDIS_CLUSTER: 'true' }, 'REDIS_URL', /redis:\/\/ or rediss:\/\//],
    [{ REDIS_CLUSTER: 'maybe' }, 'REDIS_CLUSTER', /boolean/],
    [{ CACHE_REDIS_CLUSTER: 'maybe' }, 'CACHE_REDIS_CLUSTER', /boolean/],
  ] as const) {
    const err = configError(() => loadSettings(RedisSettings, env));
    assert.deepEqual(err.variables, [variable], JSON.stringify(env));
    assert.match(err.message, message);
  }
});
