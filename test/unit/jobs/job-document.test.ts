/** The estimate formula, the job document's times and Retry-After: pure functions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchTimings, estimateSeconds, UNMEASURED_BATCH_SECONDS } from '../../../src/jobs/batch-timings';
import { retryAfterSeconds, timesOf } from '../../../src/jobs/job-document';

test('estimate: batches ahead shared by the live workers, times the measured batch duration', () => {
  assert.equal(estimateSeconds({ ahead: 0, batchSize: 8, batchSeconds: 10, workers: 1 }), 10);
  assert.equal(estimateSeconds({ ahead: 8, batchSize: 8, batchSeconds: 10, workers: 1 }), 20);
  assert.equal(estimateSeconds({ ahead: 8, batchSize: 8, batchSeconds: 10, workers: 2 }), 10);
  assert.equal(estimateSeconds({ ahead: 0, batchSize: 8, batchSeconds: 0.01, workers: 1 }), 1);
  assert.equal(
    estimateSeconds({ ahead: 0, batchSize: 8, batchSeconds: undefined, workers: 1 }),
    UNMEASURED_BATCH_SECONDS,
  );
  const t = new BatchTimings();
  t.record(1);
  t.record(9);
  t.record(Number.NaN);
  assert.equal(t.batchSeconds, 5);
});

test('job document times: RFC 3339 UTC, queue and inference seconds, position while waiting', () => {
  const created = Date.UTC(2026, 11, 5, 12, 0, 0);
  assert.deepEqual(timesOf({ createdAt: created, startedAt: created + 412, completedAt: created + 2282 }), {
    created_at: '2026-12-05T12:00:00.000Z',
    started_at: '2026-12-05T12:00:00.412Z',
    completed_at: '2026-12-05T12:00:02.282Z',
    metrics: { queue_seconds: 0.412, inference_seconds: 1.87 },
  });
  // A request that joined a job already running: it did not wait in the queue.
  assert.deepEqual(timesOf({ createdAt: created, startedAt: created - 500 }).metrics, { queue_seconds: 0 });
  assert.deepEqual(timesOf({ createdAt: created, queuePosition: 3 }), {
    created_at: '2026-12-05T12:00:00.000Z',
    queue_position: 3,
  });
  assert.deepEqual([0.2, 1, 4.5, 300].map(retryAfterSeconds), [1, 1, 5, 10]);
});
