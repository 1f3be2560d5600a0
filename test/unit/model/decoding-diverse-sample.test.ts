/** decoding=diverse and decoding=sample against the scripted fake decoder (issue 11). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GenerationSettings } from '../../../src/model/decoding/decoder-backend';
import { diverseBeamSearchDecode } from '../../../src/model/decoding/diverse-beam-search';
import { greedyDecode } from '../../../src/model/decoding/greedy';
import { applyTemperature } from '../../../src/model/decoding/logits';
import { nucleusDraw } from '../../../src/model/decoding/nucleus';
import { SplitMix64 } from '../../../src/model/decoding/prng';
import { sampleDecode } from '../../../src/model/decoding/sample';
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
const fake = (sepBias = 1): FakeDecoderBackend => new FakeDecoderBackend(VOCAB, SEP, sepBias);
const ids = (rows: { ids: number[] }[]): string[] => rows.map((r) => r.ids.join(' '));

test('SplitMix64: the published first outputs of seed 0, doubles in [0, 1), streams per row differ', () => {
  const g = new SplitMix64(0, 0);
  assert.equal(g.nextUint64(), 0xe220a8397b1dcdafn);
  assert.equal(g.nextUint64(), 0x6e789e6aa1b965f4n);
  assert.equal(g.nextUint64(), 0x06c45d188009454fn);
  assert.equal(new SplitMix64(0, 0).nextDouble(), Number(0xe220a8397b1dcdafn >> 11n) / 2 ** 53);
  const a = new SplitMix64(7, 0);
  const b = new SplitMix64(7, 1);
  const draws = Array.from({ length: 1000 }, () => a.nextDouble());
  assert.ok(draws.every((u) => u >= 0 && u < 1));
  assert.notEqual(draws[0], b.nextDouble());
});

test('nucleusDraw: the nucleus is the smallest prefix reaching top_p; u walks it in rank order', () => {
  const scores = new Float32Array([Math.log(0.2), Math.log(0.5), Math.log(0.3)]);
  for (const u of [0, 0.3, 0.99]) assert.equal(nucleusDraw(scores, 0.5, u), 1, 'only the top token');
  // top_p 0.8: tokens 1 (0.5) and 2 (0.3); target = u * 0.8
  assert.equal(nucleusDraw(scores, 0.8, 0.6), 1); // 0.48 < 0.5
  assert.equal(nucleusDraw(scores, 0.8, 0.7), 2); // 0.56 >= 0.5
  // top_p 1 keeps everything: u close to 1 reaches the least likely token
  assert.equal(nucleusDraw(scores, 1, 0.95), 0);
  // ties rank the lower id first
  const tied = new Float32Array([0, 1, 1, 0]);
  assert.equal(nucleusDraw(tied, 0.1, 0.99), 1);
  // a -inf token is never drawn
  const masked = new Float32Array([0, -Infinity]);
  assert.equal(nucleusDraw(masked, 1, 0.9999), 0);
});

test('temperature divides in float32 and is skipped at 1', () => {
  const s = new Float32Array([1, -2, 0.3]);
  applyTemperature(s, 0.5);
  assert.deepEqual([...s], [2, -4, Math.fround(Math.fround(0.3) / 0.5)]);
});

test('sample: same seed same ids, batched rows equal rows run alone, K rows per image', async () => {
  const s = settings({ decoding: 'sample', numReturnSequences: 3, topP: 0.9, temperature: 1.3, seed: 11 });
  const batched = await sampleDecode(fake(), prompts, images, s);
  const again = await sampleDecode(fake(), prompts, images, s);
  assert.deepEqual(batched.map(ids), again.map(ids));
  for (let i = 0; i < prompts.length; i++) {
    assert.equal(batched[i].length, 3);
    const [alone] = await sampleDecode(fake(), [prompts[i]], [images[i]], s);
    assert.deepEqual(ids(batched[i]), ids(alone), `image ${i}`);
    for (const row of alone) {
      const generated = row.ids.slice(prompts[i].length);
      assert.ok(generated.length <= s.maxNewTokens);
      assert.ok(generated.at(-1) === SEP || generated.length === s.maxNewTokens);
      assert.ok(row.meanLogProb < 0);
    }
  }
  const rows = new Set(batched.flatMap(ids));
  assert.ok(rows.size > prompts.length, 'the rows of one image differ');
});

test('sample: different seeds give different captions; a tiny nucleus at low temperature is greedy', async () => {
  const texts = new Set<string>();
  for (let seed = 0; seed < 6; seed++) {
    const [rows] = await sampleDecode(
      fake(),
      [[40]],
      [0],
      settings({ decoding: 'sample', numReturnSequences: 1, temperature: 1.5, seed }),
    );
    texts.add(ids(rows)[0]);
  }
  assert.ok(texts.size >= 3, `only ${texts.size} distinct samples from 6 seeds`);
  const [greedy] = await greedyDecode(fake(), [[40]], [0], settings());
  const [sharp] = await sampleDecode(
    fake(),
    [[40]],
    [0],
    settings({ decoding: 'sample', numReturnSequences: 2, topP: 0.05, temperature: 0.1, seed: 3 }),
  );
  for (const row of sharp) assert.deepEqual(row.ids, greedy.ids);
});

test('min_new_tokens holds back [SEP] in sample, greedy and diverse', async () => {
  const minNewTokens = 6;
  const over = { minNewTokens, maxNewTokens: 12 };
  const [g] = await greedyDecode(fake(50), [[40]], [0], settings(over));
  assert.equal(g.ids.indexOf(SEP), 1 + minNewTokens);
  const [samples] = await sampleDecode(
    fake(50),
    [[40]],
    [0],
    settings({ ...over, decoding: 'sample', numReturnSequences: 2 }),
  );
  for (const row of samples) assert.equal(row.ids.indexOf(SEP), 1 + minNewTokens);
  const [beams] = await diverseBeamSearchDecode(
    fake(50),
    [[40]],
    [0],
    settings({
      ...over,
      decoding: 'diverse',
      numBeams: 2,
      numBeamGroups: 2,
      numReturnSequences: 2,
      diversityPenalty: 1,
    }),
  );
  for (const row of beams) assert.ok(!row.ids.slice(0, 1 + minNewTokens).includes(SEP));
});

test('diverse: without a penalty every one-beam group is the greedy search', async () => {
  const [greedy] = await greedyDecode(fake(), [[40]], [0], settings());
  const [hyps] = await diverseBeamSearchDecode(
    fake(),
    [[40]],
    [0],
    settings({
      decoding: 'diverse',
      numBeams: 3,
      numBeamGroups: 3,
      numReturnSequences: 3,
      diversityPenalty: 0,
    }),
  );
  assert.equal(hyps.length, 3);
  for (const h of hyps) assert.deepEqual(h.ids, greedy.ids);
});

test('diverse: a large penalty makes the groups start differently; batched equals alone; best first', async () => {
  const s = settings({
    decoding: 'diverse',
    numBeams: 4,
    numBeamGroups: 2,
    numReturnSequences: 2,
    diversityPenalty: 5,
  });
  const three = settings({
    decoding: 'diverse',
    numBeams: 3,
    numBeamGroups: 3,
    numReturnSequences: 3,
    diversityPenalty: 20,
  });
  const [hyps] = await diverseBeamSearchDecode(fake(), [[40]], [0], three);
  const firstTokens = new Set(hyps.map((h) => h.ids[1]));
  assert.equal(firstTokens.size, 3, 'each group avoids the tokens earlier groups chose at step 1');
  const batched = await diverseBeamSearchDecode(fake(), prompts, images, s);
  for (let i = 0; i < prompts.length; i++) {
    const [alone] = await diverseBeamSearchDecode(fake(), [prompts[i]], [images[i]], s);
    assert.deepEqual(ids(batched[i]), ids(alone), `image ${i}`);
    assert.equal(alone.length, 2);
    assert.ok(alone[0].score >= alone[1].score);
    for (const h of alone) {
      const generated = h.ids.length - prompts[i].length;
      assert.ok(generated >= 1 && generated <= s.maxNewTokens);
    }
  }
});
