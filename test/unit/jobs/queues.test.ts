/**
 * The BullMQ options JobsModule builds: standalone exactly as before (BullMQ's own client from the URL,
 * prefix `bull`, keys `captioner:<queue>:...`), a cluster with ioredis Cluster clients (owned and closed
 * by BullMqConnections) and the hash-tag prefix `{QUEUE_NAME}` for BullMQ and the jobs module's keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { loadSettings } from '../../../src/config/load-settings';
import { RedisSettings } from '../../../src/config/redis.settings';
import {
  BullMqConnections,
  bullRootOptions,
  producerQueueOptions,
  webhookProducerOptions,
} from '../../../src/jobs/queues';
import { jobKeyBase } from '../../../src/jobs/redis-options';

test('standalone: options objects from REDIS_URL, prefix bull, no client created', () => {
  const settings = loadSettings(RedisSettings, { REDIS_URL: 'redis://127.0.0.1:6390', QUEUE_NAME: 'q1' });
  const connections = new BullMqConnections(settings);
  const root = bullRootOptions(settings, connections);
  assert.equal(root.prefix, 'bull');
  assert.equal((root.connection as { url?: string }).url, 'redis://127.0.0.1:6390');
  const producer = producerQueueOptions(settings, connections);
  assert.equal(producer.name, 'q1');
  assert.equal(producer.prefix, 'bull');
  assert.equal((producer.connection as { enableOfflineQueue?: boolean }).enableOfflineQueue, false);
  assert.equal(webhookProducerOptions(settings, connections).name, 'q1-webhooks');
  assert.equal(jobKeyBase('q1', false), 'captioner:q1');
});

test('cluster: Cluster clients (closed by BullMqConnections) and the {QUEUE_NAME} prefix', async () => {
  const settings = loadSettings(RedisSettings, {
    REDIS_URL: 'redis://127.0.0.1:1,redis://127.0.0.1:2',
    REDIS_CLUSTER: 'true',
    QUEUE_NAME: 'q2',
  });
  const connections = new BullMqConnections(settings);
  const root = bullRootOptions(settings, connections);
  const producer = webhookProducerOptions(settings, connections);
  try {
    assert.equal(root.prefix, '{q2}');
    assert.equal(producer.prefix, '{q2}');
    assert.equal(producer.name, 'q2-webhooks');
    assert.ok(root.connection instanceof Cluster);
    assert.ok(producer.connection instanceof Cluster);
    assert.equal(
      root.connection.options.redisOptions?.maxRetriesPerRequest,
      null,
      'BullMQ workers need null',
    );
    assert.equal(producer.connection.options.enableOfflineQueue, false, 'the producer fails fast');
    assert.equal(jobKeyBase('q2', true), 'captioner:{q2}');
  } finally {
    await connections.closeAll();
  }
  // Closed: no reconnection pending (a client still retrying would also keep this test file alive).
  for (const c of [root.connection, producer.connection] as Cluster[]) {
    assert.ok(['end', 'disconnecting', 'close'].includes(c.status), `closed, not ${c.status}`);
  }
});
