/**
 * Issue 13 section 7, end to end: queue mode on a local three-master Redis Cluster (one replica each),
 * the API and a worker as processes with REDIS_URL = the cluster's seed URLs and REDIS_CLUSTER=true.
 * Sync captions and async jobs work, and the master serving the queue's hash-tag slot is killed during
 * a stream of async requests: every request the API accepted (202) ends in success, none is lost; a
 * request refused while the cluster heals is a 503 problem, never anything else.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { loadSettings } from '../../src/config/load-settings';
import { createQueueRedis } from '../../src/config/redis-connection';
import { bullPrefix, RedisSettings } from '../../src/config/redis.settings';
import type { Answer } from '../e2e/support/http';
import type { ServiceProcess } from '../helpers/processes';
import { RedisCluster } from '../helpers/redis-cluster';
import { bearer } from '../helpers/tokens';
import { sleep } from '../helpers/time';
import { assertProblem, CheckedClient } from './support/client';
import { freshPhoto, smallPhotos } from './support/images';
import { settleAll } from './support/jobs';
import { allLogs, apisAndWorker, figure, queueEnv, stopAll } from './support/stack';

const QUEUE_NAME = 'captions';
const TOTAL = 36;
let cluster: RedisCluster;
let apiProc: ServiceProcess;
let client: CheckedClient;

before(async () => {
  cluster = await RedisCluster.start();
  const env = await queueEnv(cluster.url, {
    REDIS_CLUSTER: 'true',
    QUEUE_NAME,
    // A job whose completion died with the master is found stalled and run again, soon.
    JOB_LOCK_DURATION_MS: '10000',
    JOB_STALLED_INTERVAL_MS: '5000',
    SYNC_TIMEOUT_MS: '60000',
    RATE_LIMIT_LIMIT: '100000',
  });
  ({
    apis: [apiProc],
  } = await apisAndWorker(env));
  client = new CheckedClient(apiProc.url);
});

after(async () => {
  await stopAll();
  await cluster?.stop();
});

test(
  'queue mode on a Redis Cluster: sync captions, cached repeats and async jobs',
  { timeout: 240_000 },
  async () => {
    const auth = await bearer(`cluster-${randomUUID()}`);
    const image = freshPhoto('concert.jpg');
    const sync = await client.upload(auth, image);
    assert.equal(sync.status, 200, JSON.stringify(sync.body).slice(0, 300));
    assert.ok(Array.isArray(sync.body.captions) && sync.body.captions.length > 0);
    const again = await client.upload(auth, image);
    assert.equal(again.status, 200);
    assert.equal(again.body.cached, true, 'the repeat is served from the cluster cache');

    const accepted = await client.upload(auth, freshPhoto(), { mode: 'async' });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body).slice(0, 300));
    const done = await client.settle(auth, String(accepted.body.job_id), 120_000);
    assert.equal(done.status, 200);
    assert.equal(done.body.status, 'success', JSON.stringify(done.body).slice(0, 300));

    // The queue's keys carry the hash tag (BullMQ's and the owner records alike), none the plain prefix.
    const settings = loadSettings(RedisSettings, {
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      QUEUE_NAME,
    });
    const probe = createQueueRedis(settings, { maxRetriesPerRequest: 3 });
    try {
      const tag = `{${QUEUE_NAME}}`;
      assert.equal(bullPrefix(settings), tag);
      assert.ok((await probe.xlen(`${tag}:${QUEUE_NAME}:events`)) > 0, 'BullMQ events under the hash tag');
      assert.equal(await probe.exists(`bull:${QUEUE_NAME}:meta`), 0);
      const owner = await probe.get(`captioner:${tag}:job:${String(accepted.body.job_id)}`);
      assert.ok(owner !== null, 'the owner record is hash-tagged');
    } finally {
      probe.disconnect();
    }
  },
);

/**
 * Redis replicates asynchronously, so the API answers 202 only once a replica has acknowledged the job
 * (QUEUE_WAIT_REPLICAS, 1 by default on a cluster: Redis WAIT after the claim). Every accepted job, also
 * those accepted just before the SIGKILL, must then end in success.
 */
test(
  'a failover of the queue master during a stream of async requests loses no accepted job',
  { timeout: 480_000 },
  async () => {
    const auth = await bearer(`cluster-fo-${randomUUID()}`);
    const answers: Answer[] = [];
    let failedOver = false;
    let afterFailover = 0;
    const sends: Array<Promise<void>> = [];
    const send = async (i: number): Promise<void> => {
      const a = await client.upload(auth, freshPhoto(smallPhotos[i % smallPhotos.length]), {
        mode: 'async',
      });
      answers.push(a);
      if (failedOver && a.status === 202) afterFailover++;
    };
    let failover: Promise<number> | undefined;
    for (let i = 0; i < TOTAL; i++) {
      sends.push(send(i));
      // Kill the master holding the queue's slot once a third of the stream is under way.
      if (i === Math.floor(TOTAL / 3)) {
        failover = cluster.failover(`{${QUEUE_NAME}}`).then((port) => {
          failedOver = true;
          return port;
        });
      }
      await sleep(250);
    }
    await Promise.all(sends);
    const killed = await failover;
    assert.ok(killed !== undefined, 'a master was killed');
    // A few more after the cluster healed, so acceptance after the failover is checked too.
    for (let i = 0; i < 4; i++) await send(TOTAL + i);

    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    figure(`cluster failover: answers by status ${JSON.stringify([...statuses])}`);
    for (const a of answers) {
      if (a.status !== 202) assertProblem(a, 503);
    }
    const ids = answers.filter((a) => a.status === 202).map((a) => String(a.body.job_id));
    assert.ok(ids.length >= TOTAL / 2, `most requests accepted (${ids.length} of ${answers.length})`);
    assert.ok(afterFailover >= 4, `requests accepted after the failover (${afterFailover})`);

    const settled = await settleAll(client, auth, ids, 300_000);
    const notSuccess = settled.filter((s) => s.answer.status !== 200 || s.answer.body.status !== 'success');
    figure(
      `cluster failover: ${ids.length} accepted jobs, ${ids.length - notSuccess.length} succeeded; ` +
        `killed master on port ${killed}`,
    );
    assert.deepEqual(
      notSuccess.map((s) => `${s.id}: ${s.answer.status} ${JSON.stringify(s.answer.body).slice(0, 200)}`),
      [],
      'every accepted job ends in success',
    );
    assert.doesNotMatch(allLogs(), /CROSSSLOT/, 'no command spans two slots');
    assert.doesNotMatch(allLogs(), /cache Redis connect failed/, 'the cluster cache store connects');
  },
);
