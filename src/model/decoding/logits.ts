/** Log-softmax, logits processors and selection over one row of a [rows x V] logits buffer, in float32. */
const f32 = Math.fround;

export function logSoftmaxRow(logits: Float32Array, row: number, vocab: number, out: Float32Array): void {
  const base = row * vocab;
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[base + i] > max) max = logits[base + i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[base + i] - max);
  const logSum = Math.log(sum);
  for (let i = 0; i < vocab; i++) out[i] = f32(logits[base + i] - max - logSum);
}

/** HF RepetitionPenaltyLogitsProcessor: every token already in the sequence is penalised once. */
export function applyRepetitionPenalty(scores: Float32Array, sequence: number[], penalty: number): void {
  if (penalty === 1) return;
  // torch computes tensor-by-scalar in float32: the penalty is rounded to float32 first.
  const p = f32(penalty);
  for (const token of new Set(sequence)) {
    const s = scores[token];
    scores[token] = f32(s < 0 ? s * p : s / p);
  }
}

/** HF MinLengthLogitsProcessor: no [SEP] while the whole sequence (prompt included) is shorter. */
export function applyMinLength(scores: Float32Array, length: number, minLength: number, sep: number): void {
  if (length < minLength) scores[sep] = -Infinity;
}

/** HF TemperatureLogitsWarper: scores / temperature in float32 (absent at temperature 1). */
export function applyTemperature(scores: Float32Array, temperature: number): void {
  if (temperature === 1) return;
  const t = f32(temperature);
  for (let i = 0; i < scores.length; i++) scores[i] = f32(scores[i] / t);
}

/** First index of the maximum, as torch.argmax. */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Indices of the k largest values, descending; ties keep the lower index first. */
export function topK(values: Float32Array | number[], k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (best.length === k && v <= values[best[k - 1]]) continue;
    let pos = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(i);
    while (pos > 0 && values[best[pos - 1]] < v) {
      best[pos] = best[pos - 1];
      pos--;
    }
    best[pos] = i;
  }
  return best;
}
