/**
 * How far the int8 graphs are from fp32 on the benchmark photos, printed next to their speed: greedy
 * captions identical (ids), ids equal position by position, and the mean cosine of the logits when the
 * int8 decoder is fed fp32's own caption (teacher forcing, so every step compares the same context).
 * Runs the bundle in process through BlipRuntime with the service's preprocessing.
 *
 * Batch invariance (issue 11): every photo's int8 greedy caption alone against the same photo in two
 * batches of all the photos (forward and reversed order, so its batch-mates and its row differ): ids and
 * score (hence confidence) must be identical. The dynamically quantized graphs (one activation scale per
 * tensor across the batch) failed this; the int8 graphs of exporter 1.2.0 (weight-only) and 1.3.0
 * (weight-only decoder, dynamic vision encoder of batch 1) pass it.
 */
import { BlipRuntime } from '../../src/model/blip-runtime';
import type { DecodedSequence } from '../../src/model/decoding/decoder-backend';
import { decodeImage } from '../../src/image/decode-image';
import { toPixelValues } from '../../src/model/preprocess/normalize';

export interface Int8Agreement {
  photos: number;
  captions_identical: number;
  ids_equal: number;
  ids_total: number;
  mean_logit_cosine: number;
  /** Photos whose ids and score were identical alone and in both batches. */
  batch_invariant: number;
  /** Largest |confidence alone - confidence in a batch| over the photos (0 when invariant). */
  batch_max_confidence_diff: number;
}

/** Cosine similarity of two logit vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

export async function int8Agreement(bundle: string, jpegs: Buffer[]): Promise<Int8Agreement> {
  const options = {
    executionProvider: 'cpu' as const,
    intraOpThreads: 0,
    interOpThreads: 1,
    skipVerify: true,
  };
  const fp32 = await BlipRuntime.load(bundle, { ...options, variant: 'fp32' });
  const int8 = await BlipRuntime.load(bundle, { ...options, variant: 'int8' });
  try {
    const settings = fp32.resolveSettings({});
    const prompt = fp32.promptIds(undefined);
    const out: Int8Agreement = {
      photos: 0,
      captions_identical: 0,
      ids_equal: 0,
      ids_total: 0,
      mean_logit_cosine: NaN,
      batch_invariant: 0,
      batch_max_confidence_diff: 0,
    };
    const allPixels: Float32Array[] = [];
    const alone: DecodedSequence[] = [];
    let cosSum = 0;
    let cosCount = 0;
    for (const jpeg of jpegs) {
      const image = await decodeImage(jpeg, fp32.imageSize);
      const pixels = toPixelValues(image.rgb, fp32.imageSize, fp32.normalizeSettings());
      const [[a]] = await fp32.generate([pixels], [prompt], settings);
      const [[b]] = await int8.generate([pixels], [prompt], settings);
      out.photos++;
      allPixels.push(pixels);
      alone.push(b);
      if (a.ids.join() === b.ids.join()) out.captions_identical++;
      for (let i = prompt.length; i < a.ids.length; i++) {
        out.ids_total++;
        if (b.ids[i] === a.ids[i]) out.ids_equal++;
      }
      const generated = a.ids.slice(prompt.length);
      const fa = await fp32.forcedLogits(pixels, prompt, generated);
      const fb = await int8.forcedLogits(pixels, prompt, generated);
      fa.forEach((la, s) => {
        cosSum += cosine(la, fb[s]);
        cosCount++;
      });
    }
    out.mean_logit_cosine = cosCount > 0 ? cosSum / cosCount : NaN;
    const order = allPixels.map((_, i) => i);
    const invariant = order.map(() => true);
    for (const batch of [order, [...order].reverse()]) {
      const rows = await int8.generate(
        batch.map((i) => allPixels[i]),
        batch.map(() => prompt),
        settings,
      );
      batch.forEach((i, j) => {
        const [row] = rows[j];
        const diff = Math.abs(Math.exp(row.meanLogProb) - Math.exp(alone[i].meanLogProb));
        out.batch_max_confidence_diff = Math.max(out.batch_max_confidence_diff, diff);
        if (row.ids.join() !== alone[i].ids.join() || row.score !== alone[i].score || diff !== 0)
          invariant[i] = false;
      });
    }
    out.batch_invariant = invariant.filter(Boolean).length;
    return out;
  } finally {
    await fp32.release();
    await int8.release();
  }
}
