/**
 * Greedy decoding with the semantics of transformers' `_sample` (do_sample=False): processors on the raw
 * logits, argmax, stop on [SEP] or after max_new_tokens. Rows that finish leave the batch early; a row's
 * result does not depend on the other rows.
 */
import type { DecodedSequence, DecoderBackend, GenerationSettings } from './decoder-backend';
import { applyMinLength, applyRepetitionPenalty, argmax, logSoftmaxRow } from './logits';

export async function greedyDecode(
  backend: DecoderBackend,
  prompts: number[][],
  rowImage: number[],
  settings: GenerationSettings,
): Promise<DecodedSequence[]> {
  const vocab = backend.vocabSize;
  const sequences = prompts.map((p) => [...p]);
  const logProbSums = prompts.map(() => 0);
  const results: DecodedSequence[] = new Array<DecodedSequence>(prompts.length);
  let active = prompts.map((_, i) => i);
  const scores = new Float32Array(vocab);
  const logProbs = new Float32Array(vocab);

  let logits = await backend.prefill(prompts, rowImage);
  for (let generated = 1; active.length > 0; generated++) {
    const next: number[] = [];
    const keep: number[] = [];
    active.forEach((seqIndex, row) => {
      const seq = sequences[seqIndex];
      scores.set(logits.subarray(row * vocab, (row + 1) * vocab));
      applyRepetitionPenalty(scores, seq, settings.repetitionPenalty);
      applyMinLength(scores, seq.length, settings.minLength, settings.sepTokenId);
      applyMinLength(scores, generated - 1, settings.minNewTokens, settings.sepTokenId);
      const token = argmax(scores);
      logSoftmaxRow(logits, row, vocab, logProbs);
      logProbSums[seqIndex] += logProbs[token];
      seq.push(token);
      const promptLength = prompts[seqIndex].length;
      if (token === settings.sepTokenId || generated >= settings.maxNewTokens) {
        const meanLogProb = logProbSums[seqIndex] / generated;
        results[seqIndex] = {
          ids: seq,
          promptLength,
          meanLogProb,
          score: logProbSums[seqIndex] / Math.pow(generated, settings.lengthPenalty),
        };
      } else {
        keep.push(row);
        next.push(token);
      }
    });
    if (keep.length === 0) break;
    if (keep.length !== active.length) backend.reorder(keep);
    active = keep.map((row) => active[row]);
    logits = await backend.step(next);
  }
  return results;
}
