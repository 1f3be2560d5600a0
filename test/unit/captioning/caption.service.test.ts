/** The use case with real intake, cache, in-process queue, processor and batcher, and a fake model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../../src/common/app-error';
import { CacheSettings } from '../../../src/cache/cache.settings';
import { CaptionService } from '../../../src/captioning/caption.service';
import { IdempotencyService } from '../../../src/idempotency/idempotency.service';
import { IdempotencySettings } from '../../../src/idempotency/idempotency.settings';
import { MemoryIdempotencyStore } from '../../../src/idempotency/memory-idempotency-store.adapter';
import type { CaptionCommand } from '../../../src/captioning/caption-request.parser';
import { ImageIntake } from '../../../src/image/image-intake.service';
import { ImageSettings } from '../../../src/image/image.settings';
import { CaptionJobProcessor } from '../../../src/jobs/caption-job.processor';
import { BatchTimings } from '../../../src/jobs/batch-timings';
import { InProcessJobQueue } from '../../../src/jobs/in-process-job-queue.adapter';
import { LocalModel } from '../../../src/jobs/local-model.adapter';
import { JobSettings } from '../../../src/jobs/job.settings';
import { CaptionBatcher } from '../../../src/model/caption-batcher';
import { memoryCaptionCache } from '../../helpers/caption-caches';
import { FakeCaptionModel } from '../../helpers/fake-model';
import { imagesDir } from '../../helpers/paths';
import { waitFor } from '../../helpers/time';

const photo = readFileSync(join(imagesDir, 'photos', '320x240.jpg'));
const other = readFileSync(join(imagesDir, 'photos', 'Landscape_1.jpg'));

function build(syncTimeoutMs = 5000, cacheScope: CacheSettings['CACHE_SCOPE'] = 'shared') {
  const model = new FakeCaptionModel();
  const { cache } = memoryCaptionCache(100);
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
  const cacheSettings = Object.assign(new CacheSettings(), { CACHE_SCOPE: cacheScope });
  const idempotency = new IdempotencyService(new MemoryIdempotencyStore(), new IdempotencySettings());
  const service = new CaptionService(
    intake,
    cache,
    queue,
    settings,
    cacheSettings,
    idempotency,
    new LocalModel(model),
  );
  const caption = (c: CaptionCommand, subject: string) => service.caption(c, subject).then((a) => a.body);
  return { model, cache, service, caption };
}

const bytes = (b: Buffer, options: CaptionCommand['options'] = {}, async = false): CaptionCommand => ({
  image: { kind: 'bytes', bytes: b },
  options,
  async,
  http: {},
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
  const { model, caption } = build();
  const first = await caption(bytes(photo, { numCaptions: 3 }), 'alice');
  assert.equal(first.status, 'success');
  if (first.status !== 'success') return;
  assert.equal(first.cached, false);
  assert.equal(first.captions.length, 3);
  assert.deepEqual(first.model, { id: 'test/blip-fake', version: 'fakeversion0001' });
  assert.deepEqual([first.image.width, first.image.height], [320, 240]);
  assert.match(first.image.sha256, /^[0-9a-f]{64}$/);
  const again = await caption(bytes(photo, { numCaptions: 3 }), 'bob');
  assert.deepEqual(again, { ...first, cached: true });
  assert.equal(model.inferences, 1);
  // Other options are another key.
  const prompted = await caption(bytes(photo, { prompt: 'a picture of' }), 'alice');
  assert.equal(prompted.status === 'success' && prompted.cached, false);
  assert.equal(model.inferences, 2);
});

test('20 concurrent identical requests cause one inference', async () => {
  const { model, caption } = build();
  model.delayMs = 100;
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => caption(bytes(other), `user${i}`)));
  assert.ok(answers.every((a) => a.status === 'success'));
  assert.equal(model.inferences, 1);
});

test('async: 202 shape with a random job id; the owner reads the result, anyone else gets 404', async () => {
  const { service, caption } = build();
  const accepted = await caption(bytes(photo, {}, true), 'alice');
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
  const { service, model, caption } = build(50);
  model.delayMs = 400;
  const answer = await caption(bytes(photo), 'alice');
  assert.equal(answer.status, 'processing');
  if (answer.status !== 'processing') return;
  const done = await waitFor('the job', async () => {
    const s = await service.status(answer.job_id, 'alice');
    return s.status === 'success' ? s : undefined;
  });
  assert.equal(done.status, 'success');
});

test('an input that crashes inference: sync 422 caption.failed, async status failed with a reason', async () => {
  const { service, model, caption } = build();
  model.failOnPrompt = 'boom';
  assert.deepEqual(await problemOf(caption(bytes(photo, { prompt: 'boom' }), 'alice')), {
    status: 422,
    code: 'caption.failed',
  });
  const accepted = await caption(bytes(other, { prompt: 'boom' }, true), 'alice');
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
  assert.equal((await caption(bytes(other), 'alice')).status, 'success');
});

test('bad inputs are refused before anything is queued', async () => {
  const { model, caption } = build();
  assert.equal(
    (await problemOf(caption(bytes(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), 'a'))).status,
    415,
  );
  assert.equal((await problemOf(caption(bytes(photo.subarray(0, 2000)), 'a'))).status, 422);
  assert.equal((await problemOf(caption(bytes(Buffer.alloc(0)), 'a'))).status, 400);
  assert.equal(model.batches.length, 0);
});

test('models: the loaded model; 503 when none is', async () => {
  const { service, model } = build();
  const { models } = await service.models();
  assert.equal(models[0].id, 'test/blip-fake');
  assert.equal(models[0].image_size, 384);
  // issue 11: the request options' defaults and bounds
  const options = models[0].options as Record<string, { default: unknown; min: number; max: number }>;
  assert.deepEqual(
    [options.max_new_tokens.default, options.max_new_tokens.min, options.max_new_tokens.max],
    [20, 1, 60],
  );
  assert.equal(options.num_beams.max, 8);
  assert.equal(options.decoding.default, 'beam');
  model.ready = false;
  assert.equal((await problemOf(service.models())).status, 503);
});

test('Cache-Status: computed and stored, then a hit; async says fwd=miss and carries Location', async () => {
  const { service } = build();
  const first = await service.caption(bytes(photo), 'alice');
  assert.equal(first.statusCode, 200);
  assert.equal(first.headers['cache-status'], 'captioner; fwd=miss; stored');
  const again = await service.caption(bytes(photo), 'alice');
  assert.equal(again.headers['cache-status'], 'captioner; hit');
  const accepted = await service.caption(bytes(other, {}, true), 'alice');
  assert.equal(accepted.statusCode, 202);
  assert.equal(accepted.headers['cache-status'], 'captioner; fwd=miss');
  assert.equal(accepted.headers.location, `/api/v1/caption/${(accepted.body as { job_id: string }).job_id}`);
});

test('Cache-Control: no-cache recomputes and overwrites the entry; a failed sync job says fwd=miss', async () => {
  const { service, model } = build();
  await service.caption(bytes(photo), 'alice');
  assert.equal(model.inferences, 1);
  const fresh = await service.caption({ ...bytes(photo), http: { noCache: true } }, 'alice');
  assert.equal(fresh.headers['cache-status'], 'captioner; fwd=bypass; stored');
  assert.equal((fresh.body as { cached: boolean }).cached, false);
  assert.equal(model.inferences, 2);
  const hit = await service.caption(bytes(photo), 'alice');
  assert.equal(hit.headers['cache-status'], 'captioner; hit');
  assert.equal(model.inferences, 2);
  model.failOnPrompt = 'boom';
  try {
    await service.caption(bytes(photo, { prompt: 'boom' }), 'alice');
    assert.fail('expected a problem');
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.problem.headers?.['cache-status'], 'captioner; fwd=miss');
  }
});

test('CACHE_SCOPE=subject: another subject neither hits nor joins; the same subject hits', async () => {
  const { service, model } = build(5000, 'subject');
  const alice = await service.caption(bytes(photo), 'alice');
  assert.equal(alice.headers['cache-status'], 'captioner; fwd=miss; stored');
  const bob = await service.caption(bytes(photo), 'bob');
  assert.equal(bob.headers['cache-status'], 'captioner; fwd=miss; stored');
  assert.equal((bob.body as { cached: boolean }).cached, false);
  assert.equal(model.inferences, 2);
  assert.equal((await service.caption(bytes(photo), 'alice')).headers['cache-status'], 'captioner; hit');
  // Concurrent requests of two subjects: two inferences (no shared flight or job).
  model.delayMs = 100;
  await Promise.all([service.caption(bytes(other), 'carol'), service.caption(bytes(other), 'dave')]);
  assert.equal(model.inferences, 4);
});

test('Idempotency-Key: replay of 200 and 202, 422 for another request, 409 while in progress', async () => {
  const { service, model } = build();
  const withKey = (c: CaptionCommand, key: string): CaptionCommand => ({
    ...c,
    http: { idempotencyKey: key },
  });
  const first = await service.caption(withKey(bytes(photo), 'k1'), 'alice');
  const replay = await service.caption(withKey(bytes(photo), 'k1'), 'alice');
  assert.deepEqual(replay.body, first.body);
  assert.equal(replay.headers['idempotent-replayed'], 'true');
  assert.equal(replay.headers['cache-status'], first.headers['cache-status']);
  assert.equal(first.headers['idempotent-replayed'], undefined);
  // The same key of another subject is another key.
  const bobs = await service.caption(withKey(bytes(photo), 'k1'), 'bob');
  assert.equal(bobs.headers['idempotent-replayed'], undefined);
  // Another request with the key: 422.
  assert.deepEqual(
    await problemOf(service.caption(withKey(bytes(photo, { numCaptions: 2 }), 'k1'), 'alice')),
    {
      status: 422,
      code: 'idempotency.key_reused',
    },
  );
  assert.deepEqual(await problemOf(service.caption(withKey(bytes(other), 'k1'), 'alice')), {
    status: 422,
    code: 'idempotency.key_reused',
  });
  // 202: the replay names the same job.
  const accepted = await service.caption(withKey(bytes(other, {}, true), 'k2'), 'alice');
  const again = await service.caption(withKey(bytes(other, {}, true), 'k2'), 'alice');
  assert.equal(again.statusCode, 202);
  assert.equal((again.body as { job_id: string }).job_id, (accepted.body as { job_id: string }).job_id);
  // While the first is being answered: 409.
  model.delayMs = 300;
  const fresh = Buffer.concat([photo, Buffer.from('tail')]);
  const batchesBefore = model.batches.length;
  const slow = service.caption(withKey(bytes(fresh), 'k3'), 'alice');
  await waitFor('the first request to reach the model', async () =>
    model.batches.length > batchesBefore ? true : undefined,
  );
  assert.deepEqual(await problemOf(service.caption(withKey(bytes(fresh), 'k3'), 'alice')), {
    status: 409,
    code: 'idempotency.in_progress',
  });
  assert.equal((await slow).statusCode, 200);
});

test('Idempotency-Key: a request that fails releases the key', async () => {
  const { service, model } = build();
  model.failOnPrompt = 'boom';
  const cmd: CaptionCommand = { ...bytes(photo, { prompt: 'boom' }), http: { idempotencyKey: 'kf' } };
  assert.equal((await problemOf(service.caption(cmd, 'alice'))).status, 422);
  model.failOnPrompt = undefined;
  const ok = await service.caption(cmd, 'alice');
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.headers['idempotent-replayed'], undefined);
});
