/** The JobQueue contract on BullMQ against a real Redis, with a real CaptionWorker and a fake processor. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { BullMqJobQueue } from '../../../src/jobs/bullmq-job-queue.adapter';
import { CaptionWorker } from '../../../src/jobs/caption.worker';
import { FakeProcessor, jobData, jobQueueContract } from '../../helpers/job-queue.contract';
import { PrivateRedis, sharedRedisOrSkip, sharedRedisUrl } from '../../helpers/redis';
import { sleep, timed, waitFor } from '../../helpers/time';

let skip: string | undefined;
before(async () => {
  skip = await sharedRedisOrSkip();
});

async function obliterate(url: string, queueName: string): Promise<void> {
  const q = new Queue(queueName, { connection: { url } });
  try {
    await q.obliterate({ force: true });
  } finally {
    await q.close();
  }
}

interface Rig {
  queue: BullMqJobQueue;
  worker: CaptionWorker;
  queueName: string;
  close(): Promise<void>;
}

async function rig(processor: FakeProcessor, url = sharedRedisUrl, startWorker = true): Promise<Rig> {
  const queueName = `test-${randomUUID()}`;
  const queue = new BullMqJobQueue({
    url,
    queueName,
    attempts: 3,
    retentionCount: 100,
    retentionSeconds: 300,
    batchSize: 4,
    backoffMs: 100,
  });
  queue.onModuleInit();
  const worker = new CaptionWorker(processor, {
    url,
    queueName,
    concurrency: 4,
    lockDurationMs: 5000,
    stalledIntervalMs: 2000,
  });
  if (startWorker) await worker.start();
  await waitFor('the queue to be reachable', () => queue.ping().then(() => true), 5000);
  return {
    queue,
    worker,
    queueName,
    close: async () => {
      await worker.close();
      await queue.onModuleDestroy();
      await obliterate(url, queueName).catch(() => undefined);
    },
  };
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
    const q = new Queue(r.queueName, { connection: { url: sharedRedisUrl } });
    try {
      const stored = await waitFor('the image to be dropped', async () => {
        const j = await q.getJob(job.internalId);
        return j?.data.rgb === '' ? j : undefined;
      });
      assert.equal(stored.data.sha256, data.sha256);
      assert.ok(stored.opts.removeOnComplete);
    } finally {
      await q.close();
    }
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
