/**
 * decoding=diverse: diverse (group) beam search, Vijayakumar et al. 2016, with the semantics of
 * transformers' `_group_beam_search` and `BeamSearchScorer` (4.x, before it moved out of the library).
 * The beams form num_beam_groups groups; at every step the groups choose in order, and a group's
 * log-probs are lowered by diversity_penalty for each time an earlier group chose the token at this step
 * (HammingDiversityLogitsProcessor). Each group keeps its own finished hypotheses; the answer is the best
 * num_return_sequences over all groups. Each image keeps its own bookkeeping and leaves the batch when
 * done, so batched results equal unbatched ones.
 */
import type { DecodedSequence, DecoderBackend, GenerationSettings } from './decoder-backend';
import { applyMinLength, applyRepetitionPenalty, logSoftmaxRow, topK } from './logits';

const f32 = Math.fround;
const NEG = -1.0e9;

interface Beam {
  ids: number[];
  /** Accumulated processed log-probs (float32), the search's score. */
  score: number;
  /** Sum of the raw log-probs of the generated tokens (confidence). */
  rawSum: number;
}

interface Finished {
  score: number;
  ids: number[];
  rawSum: number;
}

/** transformers' BeamHypotheses: the best `capacity` finished hypotheses, scores in float64. */
class Hypotheses {
  readonly beams: Finished[] = [];
  worst = 1e9;

  constructor(
    private readonly capacity: number,
    private readonly lengthPenalty: number,
  ) {}

  add(ids: number[], sumLogProbs: number, rawSum: number, generatedLength: number): void {
    const score = sumLogProbs / Math.pow(generatedLength, this.lengthPenalty);
    if (this.beams.length < this.capacity || score > this.worst) {
      this.beams.push({ score, ids, rawSum });
      if (this.beams.length > this.capacity) {
        const sorted = this.beams.map((b, i) => [b.score, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(sorted[0][1], 1);
        this.worst = sorted[1][0];
      } else {
        this.worst = Math.min(score, this.worst);
      }
    }
  }

  isDone(
    best: number,
    curLen: number,
    promptLength: number,
    earlyStopping: boolean | 'never',
    maxLength: number,
  ): boolean {
    if (this.beams.length < this.capacity) return false;
    if (earlyStopping === true) return true;
    const length = earlyStopping === 'never' && this.lengthPenalty > 0 ? maxLength : curLen;
    return this.worst >= best / Math.pow(length - promptLength, this.lengthPenalty);
  }
}

interface ImageState {
  index: number;
  promptLength: number;
  beams: Beam[];
  groups: Hypotheses[];
  groupDone: boolean[];
}

export async function diverseBeamSearchDecode(
  backend: DecoderBackend,
  prompts: number[][],
  imageIndex: number[],
  settings: GenerationSettings,
): Promise<DecodedSequence[][]> {
  const nb = settings.numBeams;
  const groupCount = settings.numBeamGroups;
  const gs = nb / groupCount;
  if (!Number.isInteger(gs)) throw new Error('num_beams must be a multiple of num_beam_groups');
  const vocab = backend.vocabSize;
  const sep = settings.sepTokenId;
  const states: ImageState[] = prompts.map((prompt, index) => ({
    index,
    promptLength: prompt.length,
    beams: Array.from({ length: nb }, (_, b) => ({
      ids: [...prompt],
      score: b % gs === 0 ? 0 : NEG,
      rawSum: 0,
    })),
    groups: Array.from({ length: groupCount }, () => new Hypotheses(gs, settings.lengthPenalty)),
    groupDone: new Array<boolean>(groupCount).fill(false),
  }));
  let logits = await backend.prefill(
    states.flatMap((s) => s.beams.map((b) => b.ids)),
    states.flatMap((s) => s.beams.map(() => imageIndex[s.index])),
  );
  let active = states;
  const raw = new Float32Array(gs * vocab);
  const acc = new Float32Array(gs * vocab);
  const processed = new Float32Array(vocab);
  const frequency = new Float32Array(vocab);

  for (;;) {
    const keepRows: number[] = [];
    const nextTokens: number[] = [];
    const stillActive: ImageState[] = [];
    active.forEach((state, slot) => {
      const seqLen = state.beams[0].ids.length;
      const maxLength = state.promptLength + settings.maxNewTokens;
      const generated = seqLen - state.promptLength;
      const currentTokens = new Array<number>(nb).fill(0);
      const reorder = new Array<number>(nb).fill(0);
      const nextBeams: Beam[] = new Array<Beam>(nb);
      for (let g = 0; g < groupCount; g++) {
        const start = g * gs;
        if (state.groupDone[g]) {
          // transformers pads a finished group: every row continues row `start` with [PAD], score 0.
          for (let j = 0; j < gs; j++) {
            const from = state.beams[start];
            nextBeams[start + j] = { ids: [...from.ids, settings.padTokenId], score: 0, rawSum: from.rawSum };
            currentTokens[start + j] = settings.padTokenId;
            reorder[start + j] = start;
          }
          continue;
        }
        frequency.fill(0);
        for (let i = 0; i < start; i++) frequency[currentTokens[i]] += 1;
        // torch: python float * int64 counts -> float32 (the penalty rounded to float32 first).
        const penalty = f32(settings.diversityPenalty);
        for (let j = 0; j < gs; j++) {
          const beam = state.beams[start + j];
          const rawRow = raw.subarray(j * vocab, (j + 1) * vocab);
          logSoftmaxRow(logits, slot * nb + start + j, vocab, rawRow);
          processed.set(rawRow);
          if (start > 0) {
            for (let t = 0; t < vocab; t++) {
              if (frequency[t] !== 0) processed[t] = f32(processed[t] - f32(penalty * frequency[t]));
            }
          }
          applyRepetitionPenalty(processed, beam.ids, settings.repetitionPenalty);
          applyMinLength(processed, seqLen, settings.minLength, sep);
          applyMinLength(processed, generated, settings.minNewTokens, sep);
          for (let t = 0; t < vocab; t++) acc[j * vocab + t] = f32(processed[t] + beam.score);
        }
        const top = topK(acc.subarray(0, gs * vocab), 2 * gs);
        const curLen = seqLen + 1;
        let filled = 0;
        for (let rank = 0; rank < top.length && filled < gs; rank++) {
          const flat = top[rank];
          const j = Math.floor(flat / vocab);
          const token = flat % vocab;
          const from = state.beams[start + j];
          const rawSum = from.rawSum + raw[flat];
          if (token === sep) {
            if (rank >= gs) continue;
            state.groups[g].add([...from.ids, token], acc[flat], rawSum, curLen - state.promptLength);
          } else {
            nextBeams[start + filled] = { ids: [...from.ids, token], score: acc[flat], rawSum };
            currentTokens[start + filled] = token;
            reorder[start + filled] = start + j;
            filled++;
          }
        }
        state.groupDone[g] = state.groups[g].isDone(
          acc[top[0]],
          curLen,
          state.promptLength,
          settings.earlyStopping,
          maxLength,
        );
      }
      state.beams = nextBeams;
      const allDone = state.groupDone.every((d) => d);
      if (allDone || seqLen + 1 >= maxLength) return;
      stillActive.push(state);
      for (let b = 0; b < nb; b++) {
        keepRows.push(slot * nb + reorder[b]);
        nextTokens.push(currentTokens[b]);
      }
    });
    active = stillActive;
    if (active.length === 0) break;
    backend.reorder(keepRows);
    logits = await backend.step(nextTokens);
  }

  return states.map((state) => {
    const candidates: Finished[] = [];
    state.groups.forEach((hyps, g) => {
      if (!state.groupDone[g]) {
        for (let j = 0; j < gs; j++) {
          const beam = state.beams[g * gs + j];
          hyps.add(beam.ids, beam.score, beam.rawSum, beam.ids.length - state.promptLength);
        }
      }
      candidates.push(...hyps.beams);
    });
    // Python's stable ascending sort and pop() from the end: among equal scores the later one wins.
    const order = candidates.map((c, i) => ({ c, i })).sort((a, b) => a.c.score - b.c.score || a.i - b.i);
    const best = order.reverse().slice(0, settings.numReturnSequences);
    return best.map(({ c }) => {
      const generatedCount = c.ids.length - state.promptLength;
      return {
        ids: c.ids,
        promptLength: state.promptLength,
        score: c.score,
        meanLogProb: generatedCount > 0 ? c.rawSum / generatedCount : 0,
      };
    });
  });
}
