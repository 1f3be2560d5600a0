/**
 * decoding=sample: num_return_sequences independent rows per image, each drawn with nucleus sampling
 * (temperature, top_p) from its own SplitMix64 stream (seed, row). Processors run in transformers' order
 * on the raw float32 logits: repetition penalty, min length, min new tokens, temperature. A row's result
 * depends only on its image, prompt, settings and row number, never on the batch.
 */
import type { DecodedSequence, DecoderBackend, GenerationSettings } from './decoder-backend';
import { applyMinLength, applyRepetitionPenalty, applyTemperature, logSoftmaxRow } from './logits';
import { nucleusDraw } from './nucleus';
import { SplitMix64 } from './prng';

interface Row {
  prompt: number;
  ids: number[];
  promptLength: number;
  rawSum: number;
  rng: SplitMix64;
}

export async function sampleDecode(
  backend: DecoderBackend,
  prompts: number[][],
  imageIndex: number[],
  settings: GenerationSettings,
): Promise<DecodedSequence[][]> {
  const k = settings.numReturnSequences;
  const vocab = backend.vocabSize;
  const rows: Row[] = prompts.flatMap((prompt, i) =>
    Array.from({ length: k }, (_, r) => ({
      prompt: i,
      ids: [...prompt],
      promptLength: prompt.length,
      rawSum: 0,
      rng: new SplitMix64(settings.seed, r),
    })),
  );
  const results: DecodedSequence[][] = prompts.map(() => []);
  const finished: (DecodedSequence | undefined)[] = rows.map(() => undefined);
  const scores = new Float32Array(vocab);
  const logProbs = new Float32Array(vocab);

  let active = rows.map((_, i) => i);
  let logits = await backend.prefill(
    rows.map((r) => r.ids),
    rows.map((r) => imageIndex[r.prompt]),
  );
  for (let generated = 1; active.length > 0; generated++) {
    const keep: number[] = [];
    const next: number[] = [];
    active.forEach((rowIndex, slot) => {
      const row = rows[rowIndex];
      scores.set(logits.subarray(slot * vocab, (slot + 1) * vocab));
      applyRepetitionPenalty(scores, row.ids, settings.repetitionPenalty);
      applyMinLength(scores, row.ids.length, settings.minLength, settings.sepTokenId);
      applyMinLength(scores, generated - 1, settings.minNewTokens, settings.sepTokenId);
      applyTemperature(scores, settings.temperature);
      const token = nucleusDraw(scores, settings.topP, row.rng.nextDouble());
      logSoftmaxRow(logits, slot, vocab, logProbs);
      row.rawSum += logProbs[token];
      row.ids.push(token);
      if (token === settings.sepTokenId || generated >= settings.maxNewTokens) {
        finished[rowIndex] = {
          ids: row.ids,
          promptLength: row.promptLength,
          score: row.rawSum / generated,
          meanLogProb: row.rawSum / generated,
        };
      } else {
        keep.push(slot);
        next.push(token);
      }
    });
    if (keep.length === 0) break;
    if (keep.length !== active.length) backend.reorder(keep);
    active = keep.map((slot) => active[slot]);
    logits = await backend.step(next);
  }
  rows.forEach((row, i) => {
    const done = finished[i];
    if (done !== undefined) results[row.prompt].push(done);
  });
  return results;
}
