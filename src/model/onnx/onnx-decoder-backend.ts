/**
 * DecoderBackend on the bundle's text_decoder graph: keeps each row's self-attention K/V cache and
 * padding, feeds the image tokens' cross-attention K/V (computed once per image by the vision graph)
 * to every step, and reorders rows for beam search or when rows finish.
 */
import * as ort from 'onnxruntime-node';
import type { DecoderBackend } from '../decoding/decoder-backend';

export interface CrossAttention {
  /** Per layer, the image tokens' keys and values for every image: [images, H, N, D]. */
  keys: Float32Array[];
  values: Float32Array[];
  images: number;
}

export interface DecoderShape {
  layers: number;
  heads: number;
  headDim: number;
  imageTokens: number;
  vocabSize: number;
  /**
   * The graph takes cross K/V [images, H, N, D] for rows in equal groups of consecutive rows on one
   * image (bundle format 2); otherwise it needs one copy per row.
   */
  sharedCross?: boolean;
}

/**
 * Rows in equal runs of consecutive rows on one image (a beam search's beams): the run length, else 1.
 * Runs on the same image are fine; the graph only needs the run length to be the same everywhere.
 */
export function rowGroupSize(rowImage: readonly number[]): number {
  const rows = rowImage.length;
  let size = 1;
  while (size < rows && rowImage[size] === rowImage[0]) size++;
  if (rows % size !== 0) return 1;
  for (let start = 0; start < rows; start += size) {
    for (let r = start + 1; r < start + size; r++) if (rowImage[r] !== rowImage[start]) return 1;
  }
  return size;
}

export class OnnxDecoderBackend implements DecoderBackend {
  readonly vocabSize: number;
  private past: { keys: Float32Array[]; values: Float32Array[] } = { keys: [], values: [] };
  private pastLength = 0;
  private pads: number[] = [];
  private rowImage: number[] = [];
  private crossFeeds: Record<string, ort.Tensor> = {};
  private crossRowImage: number[] = [];

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly shape: DecoderShape,
    private readonly cross: CrossAttention,
  ) {
    this.vocabSize = shape.vocabSize;
  }

  get rows(): number {
    return this.rowImage.length;
  }

  async prefill(prompts: number[][], rowImage: number[]): Promise<Float32Array> {
    const rows = prompts.length;
    const width = Math.max(...prompts.map((p) => p.length));
    const ids = new BigInt64Array(rows * width);
    const positions = new BigInt64Array(rows * width);
    const mask = new BigInt64Array(rows * width);
    this.pads = prompts.map((p) => width - p.length);
    prompts.forEach((prompt, r) => {
      const pad = this.pads[r];
      for (let j = 0; j < prompt.length; j++) {
        ids[r * width + pad + j] = BigInt(prompt[j]);
        positions[r * width + pad + j] = BigInt(j);
        mask[r * width + pad + j] = 1n;
      }
    });
    this.rowImage = [...rowImage];
    const emptyPast = this.emptyPast(rows);
    this.pastLength = 0;
    return this.run(rows, width, ids, positions, mask, emptyPast);
  }

  async step(tokens: number[]): Promise<Float32Array> {
    const rows = tokens.length;
    const total = this.pastLength + 1;
    const ids = BigInt64Array.from(tokens, (t) => BigInt(t));
    const positions = BigInt64Array.from(this.pads, (pad) => BigInt(this.pastLength - pad));
    const mask = new BigInt64Array(rows * total);
    for (let r = 0; r < rows; r++) {
      for (let j = this.pads[r]; j < total; j++) mask[r * total + j] = 1n;
    }
    return this.run(rows, 1, ids, positions, mask, this.pastFeeds(rows));
  }

  reorder(index: number[]): void {
    const { heads, headDim } = this.shape;
    const rowSize = heads * this.pastLength * headDim;
    const gather = (src: Float32Array): Float32Array => {
      const out = new Float32Array(index.length * rowSize);
      index.forEach((from, to) => out.set(src.subarray(from * rowSize, (from + 1) * rowSize), to * rowSize));
      return out;
    };
    this.past = { keys: this.past.keys.map(gather), values: this.past.values.map(gather) };
    this.pads = index.map((i) => this.pads[i]);
    this.rowImage = index.map((i) => this.rowImage[i]);
  }

  private emptyPast(rows: number): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    const dims = [rows, this.shape.heads, 0, this.shape.headDim];
    for (let i = 0; i < this.shape.layers; i++) {
      feeds[`past_key.${i}`] = new ort.Tensor('float32', new Float32Array(0), dims);
      feeds[`past_value.${i}`] = new ort.Tensor('float32', new Float32Array(0), dims);
    }
    return feeds;
  }

  private pastFeeds(rows: number): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    const dims = [rows, this.shape.heads, this.pastLength, this.shape.headDim];
    for (let i = 0; i < this.shape.layers; i++) {
      feeds[`past_key.${i}`] = new ort.Tensor('float32', this.past.keys[i], dims);
      feeds[`past_value.${i}`] = new ort.Tensor('float32', this.past.values[i], dims);
    }
    return feeds;
  }

  /** Cross K/V rows for the current row -> image mapping; rebuilt only when the mapping changes. */
  private crossAttentionFeeds(): Record<string, ort.Tensor> {
    const same =
      this.crossRowImage.length === this.rowImage.length &&
      this.crossRowImage.every((image, r) => image === this.rowImage[r]);
    if (same) return this.crossFeeds;
    const { heads, headDim, imageTokens, layers } = this.shape;
    const rowSize = heads * imageTokens * headDim;
    // One K/V block per group of rows on the same image where the graph allows it (beams share their
    // image's block instead of each reading a copy); one per row otherwise.
    const group = this.shape.sharedCross === true ? rowGroupSize(this.rowImage) : 1;
    const blockImage = this.rowImage.filter((_, r) => r % group === 0);
    const blocks = blockImage.length;
    const dims = [blocks, heads, imageTokens, headDim];
    const identity = blocks === this.cross.images && blockImage.every((image, b) => image === b);
    const build = (src: Float32Array): Float32Array => {
      if (identity) return src;
      const out = new Float32Array(blocks * rowSize);
      blockImage.forEach((image, b) =>
        out.set(src.subarray(image * rowSize, (image + 1) * rowSize), b * rowSize),
      );
      return out;
    };
    const feeds: Record<string, ort.Tensor> = {};
    for (let i = 0; i < layers; i++) {
      feeds[`cross_key.${i}`] = new ort.Tensor('float32', build(this.cross.keys[i]), dims);
      feeds[`cross_value.${i}`] = new ort.Tensor('float32', build(this.cross.values[i]), dims);
    }
    this.crossFeeds = feeds;
    this.crossRowImage = [...this.rowImage];
    return feeds;
  }

  private async run(
    rows: number,
    seq: number,
    ids: BigInt64Array,
    positions: BigInt64Array,
    mask: BigInt64Array,
    past: Record<string, ort.Tensor>,
  ): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [rows, seq]),
      position_ids: new ort.Tensor('int64', positions, [rows, seq]),
      attention_mask: new ort.Tensor('int64', mask, [rows, this.pastLength + seq]),
      ...past,
      ...this.crossAttentionFeeds(),
    };
    const out = await this.session.run(feeds);
    const keys: Float32Array[] = [];
    const values: Float32Array[] = [];
    for (let i = 0; i < this.shape.layers; i++) {
      keys.push(out[`present_key.${i}`].data as Float32Array);
      values.push(out[`present_value.${i}`].data as Float32Array);
    }
    this.past = { keys, values };
    this.pastLength += seq;
    return out.logits.data as Float32Array;
  }
}
