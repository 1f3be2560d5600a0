import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beamSearchDecode } from '../../../src/model/decoding/beam-search';
import type { GenerationSettings } from '../../../src/model/decoding/decoder-backend';
import { greedyDecode } from '../../../src/model/decoding/greedy';
import { applyRepetitionPenalty, argmax, logSoftmaxRow, topK } from '../../../src/model/decoding/logits';
import { FakeDecoderBackend } from './fake-decoder-backend';

const VOCAB = 50;
const SEP = 3;
const settings = (over: Partial<GenerationSettings> = {}): GenerationSettings => ({
  decoding: 'beam',
  maxNewTokens: 12,
  minLength: 0,
  minNewTokens: 0,
  numBeams: 1,
  numReturnSequences: 1,
  lengthPenalty: 1,
  repetitionPenalty: 1,
  earlyStopping: false,
  sepTokenId: SEP,
  padTokenId: 0,
  numBeamGroups: 1,
  diversityPenalty: 0,
  topP: 1,
  temperature: 1,
  seed: 0,
  ...over,
});
const prompts = [[40], [40, 7, 8, 9], [40, 11], [40, 7, 8, 9]];
const images = [0, 1, 2, 3];

test('topK orders descending and keeps the lower index first on ties', () => {
  assert.deepEqual(topK([1, 5, 3, 5, 2], 3), [1, 3, 2]);
  assert.deepEqual(topK(new Float32Array([0, 0, 0]), 2), [0, 1]);
  assert.equal(argmax(new Float32Array([1, 7, 7])), 1);
});

test('logSoftmaxRow normalises one row and repetition penalty follows the sign rule', () => {
  const logits = new Float32Array([0, 0, 1, 2, 3, 4]);
  const out = new Float32Array(3);
  logSoftmaxRow(logits, 1, 3, out);
  const total = out.reduce((s, v) => s + Math.exp(v), 0);
  assert.ok(Math.abs(total - 1) < 1e-6);
  const scores = new Float32Array([2, -2, 1]);
  applyRepetitionPenalty(scores, [0, 1, 1], 2);
  assert.deepEqual([...scores], [1, -4, 1]);
});

test('greedy: stops at [SEP] or max_new_tokens; batched rows equal rows run alone', async () => {
  const s = settings();
  const batched = await greedyDecode(new FakeDecoderBackend(VOCAB, SEP, 1.5), prompts, images, s);
  for (let i = 0; i < prompts.length; i++) {
    const [alone] = await greedyDecode(new FakeDecoderBackend(VOCAB, SEP, 1.5), [prompts[i]], [images[i]], s);
    assert.deepEqual(batched[i].ids, alone.ids, `row ${i}`);
    assert.ok(Math.abs(batched[i].meanLogProb - alone.meanLogProb) < 1e-9);
    const generated = alone.ids.slice(prompts[i].length);
    assert.ok(generated.length <= s.maxNewTokens);
    assert.ok(generated.at(-1) === SEP || generated.length === s.maxNewTokens);
    assert.equal(generated.slice(0, -1).includes(SEP), false);
  }
  assert.ok(new Set(batched.map((b) => b.ids.join())).size > 1, 'the fake must depend on the input');
});

test('greedy: min_length forbids [SEP] until the sequence is long enough', async () => {
  const [row] = await greedyDecode(
    new FakeDecoderBackend(VOCAB, SEP, 50),
    [[40]],
    [0],
    settings({ minLength: 6 }),
  );
  assert.equal(row.ids.indexOf(SEP), 6);
});

test('beam search: batched images equal images run alone, scores sorted, returns num_return_sequences', async () => {
  const s = settings({ numBeams: 3, numReturnSequences: 3 });
  const batched = await beamSearchDecode(new FakeDecoderBackend(VOCAB, SEP, 1), prompts, images, s);
  for (let i = 0; i < prompts.length; i++) {
    const [alone] = await beamSearchDecode(
      new FakeDecoderBackend(VOCAB, SEP, 1),
      [prompts[i]],
      [images[i]],
      s,
    );
    assert.deepEqual(
      batched[i].map((h) => h.ids),
      alone.map((h) => h.ids),
    );
    assert.equal(alone.length, 3);
    for (let j = 1; j < alone.length; j++) assert.ok(alone[j - 1].score >= alone[j].score);
  }
});

test('beam search with one beam finds the greedy sequence', async () => {
  const greedy = await greedyDecode(new FakeDecoderBackend(VOCAB, SEP, 1), [[40]], [0], settings());
  const beam = await beamSearchDecode(
    new FakeDecoderBackend(VOCAB, SEP, 1),
    [[40]],
    [0],
    settings({ numBeams: 1 }),
  );
  assert.deepEqual(beam[0][0].ids, greedy[0].ids);
});

test('beam search score is the length-penalised sum of log-probs', async () => {
  const s = settings({ numBeams: 2, numReturnSequences: 2, lengthPenalty: 1 });
  const [hyps] = await beamSearchDecode(new FakeDecoderBackend(VOCAB, SEP, 1), [[40]], [0], s);
  for (const h of hyps) assert.ok(Math.abs(h.score - h.meanLogProb) < 1e-4, `${h.score} vs ${h.meanLogProb}`);
});
