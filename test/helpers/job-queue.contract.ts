/** One contract for every JobQueue adapter (in-process in unit, BullMQ + a worker in medium). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { captionCacheKey } from '../../src/cache/cache-key';
import type { CaptionJobData, CaptionJobResult, JobState } from '../../src/jobs/caption-job.types';
import type { CaptionJobHandler } from '../../src/jobs/caption-job.processor';
import type { JobQueue } from '../../src/jobs/job-queue.port';
import { ModelError, ModelErrorCode } from '../../src/model/model.errors';
import { sleep, waitFor } from './time';

/** How the fake processor treats an image, by the sha256 in the job. */
export type Behaviour = { delayMs?: number; failTimes?: number; permanent?: boolean };

export class FakeProcessor implements CaptionJobHandler {
  readonly calls: CaptionJobData[] = [];
  readonly behaviours = new Map<string, Behaviour>();

  async process(data: CaptionJobData): Promise<CaptionJobResult> {
    this.calls.push(data);
    const b = this.behaviours.get(data.sha256) ?? {};
    await sleep(b.delayMs ?? 10);
    if (b.permanent === true)
      throw new ModelError(ModelErrorCode.BadOptions, 'num_captions must be an integer from 1 to 5');
    if ((b.failTimes ?? 0) > 0) {
      b.failTimes = (b.failTimes ?? 0) - 1;
      throw new Error('transient failure');
    }
    return {
      captions: [
        {
          text: `caption of ${data.sha256.slice(0, 8)} ${data.options.prompt ?? ''}`.trim(),
          confidence: 0.5,
        },
      ],
      model: { id: 'test/model', version: 'v-test' },
      image: { sha256: data.sha256, width: data.width, height: data.height },
    };
  }

  callsFor(sha256: string): number {
    return this.calls.filter((c) => c.sha256 === sha256).length;
  }
}

export interface QueueUnderTest {
  queue: JobQueue;
  cleanup(): Promise<void>;
}

/** Adapters are made with attempts = 3 and retries within a second or two. */
export type MakeQueue = (processor: FakeProcessor) => Promise<QueueUnderTest>;

export function jobData(behaviour?: Behaviour, processor?: FakeProcessor): CaptionJobData {
  const sha256 = randomBytes(32).toString('hex');
  if (behaviour !== undefined && processor !== undefined) processor.behaviours.set(sha256, behaviour);
  const options = { numCaptions: 1 };
  return {
    rgb: '',
    size: 384,
    width: 640,
    height: 480,
    sha256,
    options,
    cacheKey: captionCacheKey(sha256, 'v-test', options),
    modelVersion: 'v-test',
    requestId: 'req-test',
    enqueuedAt: Date.now(),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function jobQueueContract(
  adapter: string,
  make: MakeQueue,
  skip: () => string | undefined = () => undefined,
): void {
  const it = (name: string, fn: (queue: JobQueue, processor: FakeProcessor) => Promise<void>): void => {
    test(`${adapter}: ${name}`, { timeout: 30_000 }, async (t) => {
      const reason = skip();
      if (reason !== undefined) return t.skip(reason);
      const processor = new FakeProcessor();
      const { queue, cleanup } = await make(processor);
      try {
        await fn(queue, processor);
      } finally {
        await cleanup();
      }
    });
  };

  it('an enqueued job runs and its result is waited for', async (queue, processor) => {
    const data = jobData();
    const job = await queue.enqueue(data);
    const state = await queue.waitForResult(job, 10_000);
    assert.equal(state.status, 'success');
    if (state.status === 'success') assert.equal(state.result.image.sha256, data.sha256);
    assert.equal(processor.callsFor(data.sha256), 1);
  });

  it('concurrent identical enqueues join one job: one processing, every waiter answered', async (queue, processor) => {
    const data = jobData({ delayMs: 200 }, processor);
    const jobs = await Promise.all(Array.from({ length: 10 }, () => queue.enqueue({ ...data })));
    assert.equal(new Set(jobs.map((j) => j.internalId)).size, 1);
    const states = await Promise.all(jobs.map((j) => queue.waitForResult(j, 10_000)));
    assert.ok(states.every((s) => s.status === 'success'));
    // A later identical enqueue joins the retained completed job: still one processing.
    const again = await queue.enqueue({ ...data });
    assert.equal((await queue.waitForResult(again, 10_000)).status, 'success');
    assert.equal(processor.callsFor(data.sha256), 1);
  });

  it('public ids are random UUIDs owned by their subject; others and unknown ids get nothing', async (queue) => {
    const data = jobData();
    const job = await queue.enqueue(data);
    const alice = await queue.claim(job, 'alice', data.cacheKey);
    const bob = await queue.claim(job, 'bob', data.cacheKey);
    assert.match(alice, UUID);
    assert.notEqual(alice, bob);
    await queue.waitForResult(job, 10_000);
    assert.equal((await queue.status(alice, 'alice'))?.status, 'success');
    assert.equal((await queue.status(bob, 'bob'))?.status, 'success');
    assert.equal(await queue.status(alice, 'bob'), undefined);
    assert.equal(await queue.status('00000000-0000-4000-8000-000000000000', 'alice'), undefined);
    assert.equal(await queue.status('../../etc', 'alice'), undefined);
  });

  it('a wait shorter than the job answers processing; the job still completes', async (queue, processor) => {
    const data = jobData({ delayMs: 800 }, processor);
    const job = await queue.enqueue(data);
    const jobId = await queue.claim(job, 'alice', data.cacheKey);
    const started = Date.now();
    assert.deepEqual(await queue.waitForResult(job, 100), { status: 'processing' });
    assert.ok(Date.now() - started < 1000);
    assert.equal((await queue.status(jobId, 'alice'))?.status, 'processing');
    const done = await waitFor('the job to finish', async () => {
      const s = await queue.status(jobId, 'alice');
      return s?.status === 'success' ? s : undefined;
    });
    assert.equal(done.status, 'success');
  });

  it('a transient failure is retried and succeeds', async (queue, processor) => {
    const data = jobData({ failTimes: 1 }, processor);
    const state = await queue.waitForResult(await queue.enqueue(data), 15_000);
    assert.equal(state.status, 'success');
    assert.equal(processor.callsFor(data.sha256), 2);
  });

  it('an input error fails at once with its code; a later identical enqueue runs again', async (queue, processor) => {
    const data = jobData({ permanent: true }, processor);
    const state: JobState = await queue.waitForResult(await queue.enqueue(data), 10_000);
    assert.equal(state.status, 'failed');
    if (state.status === 'failed') assert.equal(state.error.code, ModelErrorCode.BadOptions);
    assert.equal(processor.callsFor(data.sha256), 1);
    processor.behaviours.delete(data.sha256);
    const retry = await queue.waitForResult(await queue.enqueue(data), 10_000);
    assert.equal(retry.status, 'success');
  });

  it('a job failing every time ends failed after the configured attempts', async (queue, processor) => {
    const data = jobData({ failTimes: 100 }, processor);
    const job = await queue.enqueue(data);
    const jobId = await queue.claim(job, 'alice', data.cacheKey);
    const state = await queue.waitForResult(job, 20_000);
    assert.equal(state.status, 'failed');
    if (state.status === 'failed') {
      assert.equal(state.error.code, 'job.processing_failed');
      // The cause stays in the log; the client sees a generic reason with an error id.
      assert.doesNotMatch(state.error.message, /transient failure/);
      assert.match(state.error.message, /internal error \(error id [0-9a-f-]{36}\)/);
    }
    assert.equal(processor.callsFor(data.sha256), 3);
    assert.equal((await queue.status(jobId, 'alice'))?.status, 'failed');
  });

  it('ping, counts, model and estimate answer', async (queue) => {
    await queue.ping();
    const counts = await queue.counts();
    for (const k of ['waiting', 'active', 'delayed', 'failed'] as const)
      assert.equal(typeof counts[k], 'number');
    assert.ok((await queue.estimateSeconds()) >= 1);
  });
}

/** Cancel, in every adapter: owner only, a running job reads canceled, a finished one is refused. */
export function jobQueueCancelContract(
  adapter: string,
  make: MakeQueue,
  skip: () => string | undefined = () => undefined,
): void {
  test(
    `${adapter}: cancel is the owner's; a running job reads canceled; a finished one is refused with its state`,
    { timeout: 30_000 },
    async (t) => {
      const reason = skip();
      if (reason !== undefined) return t.skip(reason);
      const processor = new FakeProcessor();
      const { queue, cleanup } = await make(processor);
      try {
        const data = jobData({ delayMs: 1500 }, processor);
        const job = await queue.enqueue(data);
        const id = await queue.claim(job, 'alice', data.cacheKey);
        assert.equal(await queue.cancel(id, 'bob'), undefined);
        assert.equal(await queue.cancel('00000000-0000-4000-8000-000000000000', 'alice'), undefined);
        assert.deepEqual(await queue.cancel(id, 'alice'), { canceled: true });
        const canceled = await queue.status(id, 'alice');
        assert.equal(canceled?.status, 'canceled');
        assert.ok(canceled?.createdAt !== undefined && canceled.completedAt !== undefined);
        assert.deepEqual(await queue.cancel(id, 'alice'), { canceled: false, status: 'canceled' });

        const done = jobData();
        const finished = await queue.enqueue(done);
        assert.equal((await queue.waitForResult(finished, 10_000)).status, 'success');
        const doneId = await queue.claim(finished, 'alice', done.cacheKey);
        assert.deepEqual(await queue.cancel(doneId, 'alice'), { canceled: false, status: 'success' });
        const view = await queue.status(doneId, 'alice');
        assert.equal(view?.status, 'success');
        assert.ok(view?.startedAt !== undefined && view.completedAt !== undefined);
        assert.ok(view.completedAt >= view.startedAt);
      } finally {
        await cleanup();
      }
    },
  );
}
