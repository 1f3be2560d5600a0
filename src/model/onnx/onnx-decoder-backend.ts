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
    const rows = this.rowImage.length;
    const dims = [rows, heads, imageTokens, headDim];
    const identity = rows === this.cross.images && this.rowImage.every((image, r) => image === r);
    const build = (src: Float32Array): Float32Array => {
      if (identity) return src;
      const out = new Float32Array(rows * rowSize);
      this.rowImage.forEach((image, r) =>
        out.set(src.subarray(image * rowSize, (image + 1) * rowSize), r * rowSize),
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
