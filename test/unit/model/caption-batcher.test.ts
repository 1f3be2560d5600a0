import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptionBatcher } from '../../../src/model/caption-batcher';
import type { Caption, CaptionModel, CaptionRequest, ModelInfo } from '../../../src/model/caption-model.port';

class RecordingModel implements CaptionModel {
  batches: number[] = [];
  constructor(private readonly failOn?: string) {}
  info(): ModelInfo {
    throw new Error('unused');
  }
  isReady(): boolean {
    return true;
  }
  async caption(requests: CaptionRequest[]): Promise<Caption[][]> {
    this.batches.push(requests.length);
    await new Promise((r) => setTimeout(r, 5));
    if (requests.some((r) => r.options.prompt === this.failOn)) throw new Error('inference failed');
    return requests.map((r) => [{ text: r.options.prompt ?? '', confidence: 0.5 }]);
  }
}

const request = (prompt: string): CaptionRequest => ({
  image: { rgb: new Uint8Array(0), size: 0, width: 0, height: 0 },
  options: { prompt },
});

test('concurrent submissions form batches of at most BATCH_MAX_SIZE, each gets its own answer', async () => {
  const model = new RecordingModel();
  const batcher = new CaptionBatcher(model, 4, 20);
  const sizes: number[] = [];
  batcher.observe((n) => sizes.push(n));
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(request(`p${i}`))));
  answers.forEach((a, i) => assert.equal(a[0].text, `p${i}`));
  assert.deepEqual(model.batches, sizes);
  assert.ok(Math.max(...model.batches) <= 4);
  assert.ok(model.batches.length < 10, `expected batching, got ${model.batches.join(',')}`);
});

test('one failing input fails alone; the rest of its batch still gets answers', async () => {
  const model = new RecordingModel('bad');
  const batcher = new CaptionBatcher(model, 8, 10);
  const results = await Promise.allSettled(['a', 'bad', 'c'].map((p) => batcher.submit(request(p))));
  assert.equal(results[0].status, 'fulfilled');
  assert.equal(results[1].status, 'rejected');
  assert.equal(results[2].status, 'fulfilled');
});
