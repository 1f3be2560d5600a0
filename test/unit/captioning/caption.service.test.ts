/** The use case with real intake, cache, in-process queue, processor and batcher, and a fake model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../../src/common/app-error';
import { MemoryCaptionCache } from '../../../src/cache/memory-caption-cache.adapter';
import { CaptionService } from '../../../src/captioning/caption.service';
import type { CaptionCommand } from '../../../src/captioning/caption-request.parser';
import { ImageIntake } from '../../../src/image/image-intake.service';
import { ImageSettings } from '../../../src/image/image.settings';
import { CaptionJobProcessor } from '../../../src/jobs/caption-job.processor';
import { BatchTimings } from '../../../src/jobs/batch-timings';
import { InProcessJobQueue } from '../../../src/jobs/in-process-job-queue.adapter';
import { LocalModel } from '../../../src/jobs/local-model.adapter';
import { JobSettings } from '../../../src/jobs/job.settings';
import { CaptionBatcher } from '../../../src/model/caption-batcher';
import { FakeCaptionModel } from '../../helpers/fake-model';
import { imagesDir } from '../../helpers/paths';
import { waitFor } from '../../helpers/time';

const photo = readFileSync(join(imagesDir, 'photos', '320x240.jpg'));
const other = readFileSync(join(imagesDir, 'photos', 'Landscape_1.jpg'));

function build(syncTimeoutMs = 5000) {
  const model = new FakeCaptionModel();
  const cache = new MemoryCaptionCache(100);
  const batcher = new CaptionBatcher(model, 8, 10);
  const processor = new CaptionJobProcessor(model, batcher, cache, 60);
  const queue = new InProcessJobQueue(processor, new BatchTimings(), {
    attempts: 2,
    retentionCount: 100,
    retentionSeconds: 60,
    batchSize: 8,
  });
  const settings = Object.assign(new JobSettings(), { SYNC_TIMEOUT_MS: syncTimeoutMs });
  const intake = new ImageIntake(new ImageSettings());
  return { model, cache, service: new CaptionService(intake, cache, queue, settings, new LocalModel(model)) };
}

const bytes = (b: Buffer, options: CaptionCommand['options'] = {}, async = false): CaptionCommand => ({
  image: { kind: 'bytes', bytes: b },
  options,
  async,
});

async function problemOf(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return { status: err.problem.status, code: err.problem.code };
    throw err;
  }
  throw new Error('expected a problem');
}

test('sync: captions with the contract shape; the repeat is a cache hit with the same captions', async () => {
  const { service, model } = build();
  const first = await service.caption(bytes(photo, { numCaptions: 3 }), 'alice');
  assert.equal(first.status, 'success');
  if (first.status !== 'success') return;
  assert.equal(first.cached, false);
  assert.equal(first.captions.length, 3);
  assert.deepEqual(first.model, { id: 'test/blip-fake', version: 'fakeversion0001' });
  assert.deepEqual([first.image.width, first.image.height], [320, 240]);
  assert.match(first.image.sha256, /^[0-9a-f]{64}$/);
  const again = await service.caption(bytes(photo, { numCaptions: 3 }), 'bob');
  assert.deepEqual(again, { ...first, cached: true });
  assert.equal(model.inferences, 1);
  // Other options are another key.
  const prompted = await service.caption(bytes(photo, { prompt: 'a picture of' }), 'alice');
  assert.equal(prompted.status === 'success' && prompted.cached, false);
  assert.equal(model.inferences, 2);
});

test('20 concurrent identical requests cause one inference', async () => {
  const { service, model } = build();
  model.delayMs = 100;
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => service.caption(bytes(other), `user${i}`)),
  );
  assert.ok(answers.every((a) => a.status === 'success'));
  assert.equal(model.inferences, 1);
});

test('async: 202 shape with a random job id; the owner reads the result, anyone else gets 404', async () => {
  const { service } = build();
  const accepted = await service.caption(bytes(photo, {}, true), 'alice');
  assert.equal(accepted.status, 'processing');
  if (accepted.status !== 'processing') return;
  assert.match(accepted.job_id, /^[0-9a-f-]{36}$/);
  assert.ok(accepted.estimated_time_seconds >= 1);
  const done = await waitFor('the job', async () => {
    const s = await service.status(accepted.job_id, 'alice');
    return s.status === 'success' ? s : undefined;
  });
  assert.equal(done.job_id, accepted.job_id);
  assert.equal(done.captions?.length, 1);
  assert.equal((await problemOf(service.status(accepted.job_id, 'mallory'))).status, 404);
  assert.equal((await problemOf(service.status('not-a-uuid', 'alice'))).status, 404);
});

test('a sync request that waits longer than SYNC_TIMEOUT_MS falls back to 202', async () => {
  const { service, model } = build(50);
  model.delayMs = 400;
  const answer = await service.caption(bytes(photo), 'alice');
  assert.equal(answer.status, 'processing');
  if (answer.status !== 'processing') return;
  const done = await waitFor('the job', async () => {
    const s = await service.status(answer.job_id, 'alice');
    return s.status === 'success' ? s : undefined;
  });
  assert.equal(done.status, 'success');
});

test('an input that crashes inference: sync 422 caption.failed, async status failed with a reason', async () => {
  const { service, model } = build();
  model.failOnPrompt = 'boom';
  assert.deepEqual(await problemOf(service.caption(bytes(photo, { prompt: 'boom' }), 'alice')), {
    status: 422,
    code: 'caption.failed',
  });
  const accepted = await service.caption(bytes(other, { prompt: 'boom' }, true), 'alice');
  assert.equal(accepted.status, 'processing');
  if (accepted.status !== 'processing') return;
  const failed = await waitFor('the failure', async () => {
    const s = await service.status(accepted.job_id, 'alice');
    return s.status === 'failed' ? s : undefined;
  });
  assert.equal(failed.error?.code, 'job.processing_failed');
  // The cause ('inference crashed') is logged under the error id; the client gets a generic reason.
  assert.doesNotMatch(failed.error?.message ?? '', /inference crashed/);
  assert.match(failed.error?.message ?? '', /internal error \(error id [0-9a-f-]{36}\)/);
  // Other requests are unaffected.
  assert.equal((await service.caption(bytes(other), 'alice')).status, 'success');
});

test('bad inputs are refused before anything is queued', async () => {
  const { service, model } = build();
  assert.equal(
    (await problemOf(service.caption(bytes(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), 'a')))
      .status,
    415,
  );
  assert.equal((await problemOf(service.caption(bytes(photo.subarray(0, 2000)), 'a'))).status, 422);
  assert.equal((await problemOf(service.caption(bytes(Buffer.alloc(0)), 'a'))).status, 400);
  assert.equal(model.batches.length, 0);
});

test('models: the loaded model; 503 when none is', async () => {
  const { service, model } = build();
  const { models } = await service.models();
  assert.equal(models[0].id, 'test/blip-fake');
  assert.equal(models[0].image_size, 384);
  model.ready = false;
  assert.equal((await problemOf(service.models())).status, 503);
});
