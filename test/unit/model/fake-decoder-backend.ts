/**
 * A scripted decoder for unit tests: each row's logits are a deterministic pseudo-random function of its
 * image and whole token history, so batching, padding and reordering mistakes change the output.
 */
import type { DecoderBackend } from '../../../src/model/decoding/decoder-backend';

export class FakeDecoderBackend implements DecoderBackend {
  histories: number[][] = [];
  images: number[] = [];
  calls = 0;

  constructor(
    readonly vocabSize: number,
    private readonly sep: number,
    private readonly sepBias = 0,
  ) {}

  get rows(): number {
    return this.histories.length;
  }

  prefill(prompts: number[][], rowImage: number[]): Promise<Float32Array> {
    this.histories = prompts.map((p) => [...p]);
    this.images = [...rowImage];
    return Promise.resolve(this.logits());
  }

  step(tokens: number[]): Promise<Float32Array> {
    if (tokens.length !== this.histories.length) throw new Error('row count mismatch');
    tokens.forEach((t, r) => this.histories[r].push(t));
    return Promise.resolve(this.logits());
  }

  reorder(index: number[]): void {
    this.histories = index.map((i) => [...this.histories[i]]);
    this.images = index.map((i) => this.images[i]);
  }

  private logits(): Float32Array {
    this.calls++;
    const out = new Float32Array(this.rows * this.vocabSize);
    this.histories.forEach((history, r) => {
      let seed = 2166136261 ^ (this.images[r] * 7919);
      for (const t of history) seed = Math.imul(seed ^ t, 16777619) >>> 0;
      for (let v = 0; v < this.vocabSize; v++) {
        seed = Math.imul(seed ^ (v + 1), 2246822507) >>> 0;
        out[r * this.vocabSize + v] = ((seed % 10007) / 10007) * 6;
      }
      out[r * this.vocabSize + this.sep] += this.sepBias * (history.length / 4);
    });
    return out;
  }
}
