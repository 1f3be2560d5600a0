/** The JobQueue contract on BullMQ against a real Redis, with a real CaptionWorker and a fake processor. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { bullRig, type BullRig } from '../../helpers/bull-rig';
import { FakeProcessor, jobData, jobQueueContract } from '../../helpers/job-queue.contract';
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
