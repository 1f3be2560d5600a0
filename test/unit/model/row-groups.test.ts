import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowGroupSize } from '../../../src/model/onnx/onnx-decoder-backend';

test('rowGroupSize: equal runs of consecutive rows on one image share its cross-attention block', () => {
  assert.equal(rowGroupSize([0]), 1);
  assert.equal(rowGroupSize([0, 1, 2]), 1, 'greedy: one row per image');
  assert.equal(rowGroupSize([0, 0, 0]), 3, 'beam search on one image');
  assert.equal(rowGroupSize([0, 0, 0, 1, 1, 1]), 3, 'beams of two images');
  assert.equal(rowGroupSize([2, 2, 0, 0]), 2, 'images in any order');
  assert.equal(rowGroupSize([0, 0, 1, 1, 0, 0]), 2, 'the same image in two runs');
});

test('rowGroupSize: anything else falls back to one block per row', () => {
  assert.equal(rowGroupSize([0, 0, 1]), 1, 'runs of unequal length');
  assert.equal(rowGroupSize([0, 0, 1, 2]), 1, 'a short run after a long one');
  assert.equal(rowGroupSize([0, 1, 1, 1]), 1, 'a long run after a short one');
  assert.equal(rowGroupSize([0, 0, 0, 1, 1, 2]), 1);
});
