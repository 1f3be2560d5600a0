import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchTimings } from '../../../src/jobs/batch-timings';
import { InProcessJobQueue } from '../../../src/jobs/in-process-job-queue.adapter';
import { AppError } from '../../../src/common/app-error';
import { memoryCaptionCache } from '../../helpers/caption-caches';
import { CaptionJobProcessor } from '../../../src/jobs/caption-job.processor';
import { CAPTION_JOB, JobHandlers, WEBHOOK_JOB } from '../../../src/jobs/job-map';
import { CaptionBatcher } from '../../../src/model/caption-batcher';
import { FakeCaptionModel } from '../../helpers/fake-model';
import { webhookContract } from '../../helpers/webhook.contract';
import { JobSettings } from '../../../src/jobs/job.settings';
import { webhookHandler } from '../../../src/jobs/jobs.module';
import {
  FakeProcessor,
  jobData,
  jobQueueCancelContract,
  jobQueueContract,
} from '../../helpers/job-queue.contract';

const options = { attempts: 3, retentionCount: 100, retentionSeconds: 60, batchSize: 4 };

jobQueueContract('InProcessJobQueue', async (processor) => ({
  queue: new InProcessJobQueue(processor, new BatchTimings(), options),
  cleanup: async () => undefined,
}));

test('InProcessJobQueue: pending jobs are bounded (503 beyond), finished ones retained up to the count', async () => {
  const processor = new FakeProcessor();
  const queue = new InProcessJobQueue(processor, new BatchTimings(), {
    ...options,
    retentionCount: 2,
    maxPending: 2,
  });
  const slow = [jobData({ delayMs: 100 }, processor), jobData({ delayMs: 100 }, processor)];
  const jobs = await Promise.all(slow.map((d) => queue.enqueue(d)));
  await assert.rejects(
    queue.enqueue(jobData()),
    (e: unknown) => e instanceof AppError && e.problem.status === 503,
  );
  await Promise.all(jobs.map((j) => queue.waitForResult(j, 5000)));
  const ids = await Promise.all(slow.map((d, i) => queue.claim(jobs[i], 'alice', d.cacheKey)));
  for (const d of [jobData(), jobData()]) await queue.waitForResult(await queue.enqueue(d), 5000);
  // The first two results were evicted: their ids say "gone" with the cache key to look up.
  const state = await queue.status(ids[0], 'alice');
  assert.equal(state?.status, 'gone');
  if (state?.status === 'gone') assert.equal(state.cacheKey, slow[0].cacheKey);
});

test('InProcessJobQueue at shutdown: running jobs finish first, new ones are refused with 503', async () => {
  const processor = new FakeProcessor();
  const queue = new InProcessJobQueue(processor, new BatchTimings(), options);
  const data = jobData({ delayMs: 200 }, processor);
  const job = await queue.enqueue(data);
  const started = Date.now();
  await queue.onModuleDestroy();
  assert.ok(Date.now() - started >= 150, 'shutdown did not wait for the running job');
  assert.equal((await queue.waitForResult(job, 10)).status, 'success');
  assert.equal(queue.available(), false);
  await assert.rejects(
    queue.enqueue(jobData()),
    (e: unknown) => e instanceof AppError && e.problem.status === 503,
  );
});

jobQueueCancelContract('InProcessJobQueue', async (processor) => ({
  queue: new InProcessJobQueue(processor, new BatchTimings(), options),
  cleanup: async () => undefined,
}));

test('the estimate follows the measured batch durations: a slowed model raises it', async () => {
  const model = new FakeCaptionModel();
  const cache = memoryCaptionCache(100).cache;
  const batcher = new CaptionBatcher(model, 2, 0);
  const timings = new BatchTimings();
  batcher.observe((_size, seconds) => timings.record(seconds));
  const queue = new InProcessJobQueue(new CaptionJobProcessor(model, batcher, cache, 60), timings, options);
  const run = async (n: number): Promise<void> => {
    const jobs = await Promise.all(
      Array.from({ length: n }, () =>
        queue.enqueue({ ...jobData(), rgb: Buffer.alloc(384 * 384 * 3).toString('base64') }),
      ),
    );
    for (const j of jobs) assert.equal((await queue.waitForResult(j, 30_000)).status, 'success');
  };
  model.delayMs = 5;
  await run(4);
  const fast = await queue.estimateSeconds(20);
  model.delayMs = 1500;
  await run(4);
  const slow = await queue.estimateSeconds(20);
  // 21 jobs at 2 per batch = 11 batches: about 11 * 1.5 s once the slower batches are measured.
  assert.ok(
    timings.batchSeconds !== undefined && timings.batchSeconds >= 0.75,
    `mean ${timings.batchSeconds}`,
  );
  assert.ok(slow >= 8, `slow estimate ${slow}`);
  assert.ok(slow > fast, `estimate ${fast} -> ${slow}`);
});

test('JobHandlers: start-up fails naming a job without a handler', () => {
  const unused = (): Promise<never> => Promise.reject(new Error('unused'));
  assert.throws(() => new JobHandlers({}), /no handler for job "caption"/);
  assert.throws(() => new JobHandlers({ [CAPTION_JOB]: unused }), /no handler for job "webhook"/);
  const handlers = new JobHandlers({ [CAPTION_JOB]: unused, [WEBHOOK_JOB]: unused });
  assert.equal(handlers.has(CAPTION_JOB), true);
  assert.equal(handlers.has(WEBHOOK_JOB), true);
  assert.equal(handlers.has('thumbnail'), false);
});

webhookContract('InProcessJobQueue', async (processor, sender) => {
  const queue = new InProcessJobQueue(processor, new BatchTimings(), options);
  const jobs = Object.assign(new JobSettings(), { WEBHOOK_MAX_ATTEMPTS: 4, WEBHOOK_BACKOFF_MS: 100 });
  const handler = webhookHandler(queue, memoryCaptionCache(100).cache, jobs, sender);
  queue.attachWebhooks({ deliver: (d, c) => handler.deliver(d, c), maxAttempts: 4, backoffMs: 100 });
  return { queue, cleanup: async () => undefined };
});
