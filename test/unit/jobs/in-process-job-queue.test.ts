import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchTimings } from '../../../src/jobs/batch-timings';
import { InProcessJobQueue } from '../../../src/jobs/in-process-job-queue.adapter';
import { AppError } from '../../../src/common/app-error';
import { FakeProcessor, jobData, jobQueueContract } from '../../helpers/job-queue.contract';

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
