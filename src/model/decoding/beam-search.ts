/**
 * Beam search with the semantics of transformers 5.x `_beam_search` (vectorised version): log-softmax,
 * processors on log-probs, top 2*num_beams continuations over all beams, finished hypotheses scored
 * sum/(generated_len ** length_penalty), the early-stop heuristic, and output ordered by score. Each image
 * keeps its own bookkeeping and leaves the batch when done, so batched results equal unbatched ones.
 */
import type { DecodedSequence, DecoderBackend, GenerationSettings } from './decoder-backend';
import { applyMinLength, applyRepetitionPenalty, logSoftmaxRow, topK } from './logits';

const f32 = Math.fround;
const NEG = -1.0e9;

interface Hypothesis {
  ids: number[];
  score: number;
  rawSum: number;
}

interface ImageState {
  index: number;
  promptLength: number;
  running: Hypothesis[];
  finished: Hypothesis[];
  improvable: boolean;
  done: boolean;
}

export async function beamSearchDecode(
  backend: DecoderBackend,
  prompts: number[][],
  imageIndex: number[],
  settings: GenerationSettings,
): Promise<DecodedSequence[][]> {
  const nb = settings.numBeams;
  const vocab = backend.vocabSize;
  const k = 2 * nb;
  const states: ImageState[] = prompts.map((prompt, index) => ({
    index,
    promptLength: prompt.length,
    running: Array.from({ length: nb }, (_, b) => ({
      ids: [...prompt],
      score: b === 0 ? 0 : NEG,
      rawSum: 0,
    })),
    finished: [],
    improvable: true,
    done: false,
  }));
  const rowPrompts = states.flatMap((s) => s.running.map((h) => h.ids));
  const rowImage = states.flatMap((s) => s.running.map(() => imageIndex[s.index]));
  let logits = await backend.prefill(rowPrompts, rowImage);
  let active = states;
  const raw = new Float32Array(vocab);
  const processed = new Float32Array(vocab);
  const acc = new Float32Array(nb * vocab);
  const rawAcc = new Float64Array(nb * vocab);

  for (let generated = 0; active.length > 0; generated++) {
    const keepRows: number[] = [];
    const nextTokens: number[] = [];
    active.forEach((state, slot) => {
      const curLen = state.promptLength + generated;
      const maxLength = state.promptLength + settings.maxNewTokens;
      for (let b = 0; b < nb; b++) {
        const hyp = state.running[b];
        logSoftmaxRow(logits, slot * nb + b, vocab, raw);
        processed.set(raw);
        applyRepetitionPenalty(processed, hyp.ids, settings.repetitionPenalty);
        applyMinLength(processed, curLen, settings.minLength, settings.sepTokenId);
        applyMinLength(processed, generated, settings.minNewTokens, settings.sepTokenId);
        for (let t = 0; t < vocab; t++) {
          acc[b * vocab + t] = f32(processed[t] + hyp.score);
          rawAcc[b * vocab + t] = hyp.rawSum + raw[t];
        }
      }
      const top = topK(acc, k);
      const candidates = top.map((flat) => {
        const beam = Math.floor(flat / vocab);
        const token = flat % vocab;
        return {
          beam,
          token,
          score: acc[flat],
          rawSum: rawAcc[flat],
          hits: token === settings.sepTokenId || curLen + 1 >= maxLength,
        };
      });

      // Running beams for the next step: the best non-finished continuations.
      const runningValues = candidates.map((c) => f32(c.score + (c.hits ? NEG : 0)));
      const nextRunning = topK(runningValues, nb).map((j) => ({
        j,
        c: candidates[j],
        value: runningValues[j],
      }));

      // Finished hypotheses: only the top num_beams candidates that just hit a stop may enter.
      const allFinished = state.finished.length >= nb;
      const closed = !state.improvable || (allFinished && settings.earlyStopping === true);
      if (!closed) {
        const penalty = f32(Math.pow(curLen + 1 - state.promptLength, settings.lengthPenalty));
        for (let j = 0; j < nb; j++) {
          const c = candidates[j];
          if (!c.hits) continue;
          const ids = [...state.running[c.beam].ids, c.token];
          state.finished.push({ ids, score: f32(c.score / penalty), rawSum: c.rawSum });
        }
        state.finished.sort((a, b) => b.score - a.score);
        state.finished.length = Math.min(state.finished.length, nb);
      }

      const previous = state.running;
      state.running = nextRunning.map(({ c, value }) => ({
        ids: [...previous[c.beam].ids, c.token],
        score: value,
        rawSum: c.rawSum,
      }));

      // Early-stop heuristic, evaluated with the new length as transformers does.
      const nextLen = curLen + 1;
      const hypothetical =
        settings.earlyStopping === 'never' && settings.lengthPenalty > 0
          ? maxLength - state.promptLength
          : nextLen - state.promptLength;
      const bestPossible = f32(state.running[0].score / f32(Math.pow(hypothetical, settings.lengthPenalty)));
      const full = state.finished.length >= nb;
      const worstFinished = full ? state.finished[state.finished.length - 1].score : NEG;
      state.improvable = state.improvable && bestPossible > worstFinished;
      const everyCandidateStops = candidates.every((c) => c.hits);
      state.done = !state.improvable || (full && settings.earlyStopping === true) || everyCandidateStops;
      if (!state.done) {
        for (const { c } of nextRunning) {
          keepRows.push(slot * nb + c.beam);
        }
        for (const h of state.running) nextTokens.push(h.ids[h.ids.length - 1]);
      }
    });
    active = active.filter((s) => !s.done);
    if (active.length === 0) break;
    backend.reorder(keepRows);
    logits = await backend.step(nextTokens);
  }

  return states.map((state) => {
    const ranked = [...state.finished];
    for (const h of state.running) if (ranked.length < settings.numReturnSequences) ranked.push(h);
    return ranked.slice(0, settings.numReturnSequences).map((h) => {
      const generatedCount = h.ids.length - state.promptLength;
      return {
        ids: h.ids,
        promptLength: state.promptLength,
        score: h.score,
        meanLogProb: generatedCount > 0 ? h.rawSum / generatedCount : 0,
      };
    });
  });
}
