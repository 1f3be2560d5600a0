/** The JobQueue contract on BullMQ against a real Redis, with a real CaptionWorker and a fake processor. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { bullRig, type BullRig } from '../../helpers/bull-rig';
import { webhookContract } from '../../helpers/webhook.contract';
import {
  FakeProcessor,
  jobData,
  jobQueueCancelContract,
  jobQueueContract,
} from '../../helpers/job-queue.contract';
import { PrivateRedis, sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';
import { sleep, timed, waitFor } from '../../helpers/time';

let skip: string | undefined;
before(async () => {
  skip = await sharedRedisOrSkip();
});

async function rig(processor: FakeProcessor, url = sharedRedisUrl): Promise<BullRig> {
  const r = await bullRig(processor, { url });
  await waitFor('the queue to be reachable', () => r.queue.ping().then(() => true), 5000);
  return r;
}

jobQueueContract(
  'BullMqJobQueue',
  async (processor) => {
    const r = await rig(processor);
    return { queue: r.queue, cleanup: r.close };
  },
  () => skip,
);

jobQueueCancelContract(
  'BullMqJobQueue',
  async (processor) => {
    const r = await rig(processor);
    return { queue: r.queue, cleanup: r.close };
  },
  () => skip,
);

webhookContract(
  'BullMqJobQueue',
  async (processor, sender) => {
    const r = await bullRig(processor, {
      url: sharedRedisUrl,
      sender,
      jobs: { WEBHOOK_MAX_ATTEMPTS: 4, WEBHOOK_BACKOFF_MS: 100 },
    });
    await waitFor('the queue to be reachable', () => r.queue.ping().then(() => true), 5000);
    return { queue: r.queue, cleanup: r.close };
  },
  () => skip,
);

test('BullMQ: waiting jobs show their queue position; a canceled waiting job leaves the queue unless joined', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const processor = new FakeProcessor();
  const r = await bullRig(processor, { url: sharedRedisUrl, startWorker: false });
  try {
    await waitFor('the queue', () => r.queue.ping().then(() => true), 5000);
    const data = [jobData(), jobData(), jobData()];
    const jobs = [];
    for (const d of data) jobs.push(await r.queue.enqueue(d));
    const ids = await Promise.all(jobs.map((j, i) => r.queue.claim(j, 'alice', data[i].cacheKey)));
    const positions = await Promise.all(
      ids.map(async (id) => (await r.queue.status(id, 'alice'))?.queuePosition),
    );
    assert.deepEqual(positions, [0, 1, 2]);
    // The second job is also held by bob: alice's cancel leaves it queued for him.
    const bobs = await r.queue.claim(jobs[1], 'bob', data[1].cacheKey);
    assert.deepEqual(await r.queue.cancel(ids[0], 'alice'), { canceled: true });
    assert.deepEqual(await r.queue.cancel(ids[1], 'alice'), { canceled: true });
    const q = r.inspect();
    assert.equal(await q.getJob(jobs[0].internalId), undefined);
    assert.ok(await q.getJob(jobs[1].internalId));
    assert.equal((await r.queue.status(ids[2], 'alice'))?.queuePosition, 1);
    await r.consumers.start();
    const bobView = await waitFor("bob's job to finish", async () => {
      const v = await r.queue.status(bobs, 'bob');
      return v?.status === 'success' ? v : undefined;
    });
    assert.equal(bobView.status, 'success');
    assert.equal((await r.queue.status(ids[1], 'alice'))?.status, 'canceled');
    assert.equal(processor.callsFor(data[0].sha256), 0);
  } finally {
    await r.close();
  }
});

test('BullMQ: a completed job keeps its result but drops the image from the retained payload', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const processor = new FakeProcessor();
  const r = await rig(processor);
  try {
    const data = { ...jobData(), rgb: Buffer.alloc(1000, 7).toString('base64') };
    const job = await r.queue.enqueue(data);
    assert.equal((await r.queue.waitForResult(job, 5000)).status, 'success');
    const q = r.inspect();
    const stored = await waitFor('the image to be dropped', async () => {
      const j = await q.getJob(job.internalId);
      return j?.data.rgb === '' ? j : undefined;
    });
    assert.equal(stored.data.sha256, data.sha256);
    assert.ok(stored.opts.removeOnComplete);
  } finally {
    await r.close();
  }
});

let privateRedis: PrivateRedis | undefined;
after(async () => {
  await privateRedis?.destroy();
});

test(
  'BullMQ with its Redis stopped: enqueue and status answer 503 quickly, then work again by themselves',
  { timeout: 60_000 },
  async () => {
    privateRedis = await PrivateRedis.start();
    const processor = new FakeProcessor();
    const r = await rig(processor, privateRedis.url);
    try {
      const before = await r.queue.enqueue(jobData());
      assert.equal((await r.queue.waitForResult(before, 5000)).status, 'success');

      await privateRedis.stop();
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { ms } = await timed(async () => {
          await assert.rejects(
            r.queue.enqueue(jobData()),
            (e: { problem?: { status: number } }) => e.problem?.status === 503,
          );
          await assert.rejects(
            r.queue.status(randomUUID(), 'alice'),
            (e: { problem?: { status: number } }) => e.problem?.status === 503,
          );
        });
        times.push(ms);
        await sleep(100);
      }
      assert.ok(Math.max(...times) < 1000, `503s took ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
      await assert.rejects(r.queue.ping());

      await privateRedis.start();
      const recovery = await timed(() =>
        waitFor(
          'enqueue to work again',
          async () => {
            const job = await r.queue.enqueue(jobData());
            const state = await r.queue.waitForResult(job, 2000);
            return state.status === 'success' ? state : undefined;
          },
          20_000,
          200,
        ),
      );
      console.log(
        `# queue: 503 in ${times.map((t) => t.toFixed(1)).join(', ')} ms while Redis was down; working again ${recovery.ms.toFixed(0)} ms after it returned`,
      );
    } finally {
      await r.close().catch(() => undefined);
    }
  },
);
