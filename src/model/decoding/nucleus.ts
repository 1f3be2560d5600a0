/**
 * One draw of nucleus sampling from float32 scores, in float64, exactly as docs/decoding.md specifies
 * (the parity reference implements the same steps in numpy).
 */

/**
 * Score windows below the maximum tried before ranking the whole vocabulary: the tokens within a window
 * are a prefix of the full ranking, so when their mass reaches top_p the nucleus is the same.
 */
const CANDIDATE_WINDOWS = [8, 16, 40];

/** Token ids by score descending, ties by lower id. */
function ranked(scores: Float32Array, ids: number[]): number[] {
  return ids.sort((a, b) => scores[b] - scores[a] || a - b);
}

export function nucleusDraw(scores: Float32Array, topP: number, u: number): number {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  let z = 0;
  for (let i = 0; i < scores.length; i++) z += Math.exp(scores[i] - max);
  const p = (i: number): number => Math.exp(scores[i] - max) / z;

  // The nucleus is a prefix of the ranking. Rank the tokens near the maximum first; only when their
  // mass does not reach top_p (or top_p = 1 keeps everything) is the whole vocabulary ranked.
  let order: number[] = [];
  let kept = -1;
  for (const window of topP < 1 ? CANDIDATE_WINDOWS : []) {
    const near: number[] = [];
    for (let i = 0; i < scores.length; i++) if (scores[i] >= max - window) near.push(i);
    order = ranked(scores, near);
    kept = prefix(order, p, topP);
    if (kept >= 0 || near.length === scores.length) break;
  }
  if (kept < 0) {
    const all: number[] = [];
    for (let i = 0; i < scores.length; i++) all.push(i);
    order = ranked(scores, all);
    kept = prefix(order, p, topP);
    if (kept < 0) kept = order.length;
  }
  let mass = 0;
  for (let k = 0; k < kept; k++) mass += p(order[k]);
  const target = u * mass;
  let c = 0;
  let last = order[0];
  for (let k = 0; k < kept; k++) {
    const pk = p(order[k]);
    if (pk <= 0) continue;
    last = order[k];
    c += pk;
    if (c > target) return order[k];
  }
  return last;
}

/** How many tokens of the ranking form the nucleus, or -1 if this ranking's mass never reaches top_p. */
function prefix(order: number[], p: (i: number) => number, topP: number): number {
  if (topP >= 1) return -1;
  let c = 0;
  for (let k = 0; k < order.length; k++) {
    c += p(order[k]);
    if (c >= topP) return k + 1;
  }
  return -1;
}
