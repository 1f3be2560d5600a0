/**
 * The BLIP runtime: a verified bundle, its two ONNX sessions and the decoding loops. No Nest here; the
 * model module, the CLI, the parity tests and the benchmarks all use it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import * as ortRuntime from 'onnxruntime-node';
import { readManifest, sharedCrossAttention, verifyBundleFiles, type Manifest } from './bundle/manifest';
import type { Caption, CaptionRequest, DecodeOptions, ModelInfo } from './caption-model.port';
import { beamSearchDecode } from './decoding/beam-search';
import type { DecodedSequence, GenerationSettings } from './decoding/decoder-backend';
import { diverseBeamSearchDecode } from './decoding/diverse-beam-search';
import { greedyDecode } from './decoding/greedy';
import { sampleDecode } from './decoding/sample';
import { generationOptionProblems, resolveGenerationOptions } from './generation-options';
import { ModelError, ModelErrorCode } from './model.errors';
import { OnnxDecoderBackend, type CrossAttention } from './onnx/onnx-decoder-backend';
import { createSession, type SessionSettings } from './onnx/sessions';
import { toPixelValues, type NormalizeSettings } from './preprocess/normalize';
import { BlipTokenizer } from './text/blip-tokenizer';

export interface RuntimeOptions extends SessionSettings {
  variant: 'fp32' | 'int8';
  /** Skip the sha256 check of every file (tests that load the same bundle many times). */
  skipVerify?: boolean;
}

/** The bundle's record of generate's effective defaults; only min_length and early_stopping are used. */
interface GenerationConfig {
  max_new_tokens?: number;
  min_length?: number;
  num_beams?: number;
  length_penalty?: number;
  repetition_penalty?: number;
  early_stopping?: boolean | 'never';
}

interface PreprocessorConfig {
  size?: { height: number; width: number };
  rescale_factor?: number;
  image_mean?: [number, number, number];
  image_std?: [number, number, number];
}

function normalizeSettingsOf(p: PreprocessorConfig, dir: string): NormalizeSettings {
  const triple = (v: unknown): v is [number, number, number] =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (typeof p.rescale_factor !== 'number' || !triple(p.image_mean) || !triple(p.image_std)) {
    throw new ModelError(
      ModelErrorCode.BundleInvalid,
      `Model bundle ${dir}: preprocessor_config.json lacks rescale_factor, image_mean or image_std`,
    );
  }
  return { rescaleFactor: p.rescale_factor, mean: p.image_mean, std: p.image_std };
}

export const LIMITS = { maxPromptTokens: 64 };

export class BlipRuntime {
  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    readonly tokenizer: BlipTokenizer,
    private readonly vision: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly generation: GenerationConfig,
    private readonly preprocessor: PreprocessorConfig,
    private readonly options: RuntimeOptions,
  ) {}

  static async load(dir: string, options: RuntimeOptions): Promise<BlipRuntime> {
    const manifest = await readManifest(dir);
    if (!options.skipVerify) await verifyBundleFiles(dir, manifest);
    const graphs = manifest.graphs[options.variant];
    if (graphs === undefined) {
      throw new ModelError(
        ModelErrorCode.BundleInvalid,
        `Model bundle ${dir} has no ${options.variant} graphs (export it with --quantize int8)`,
      );
    }
    const readJson = async <T>(name: string): Promise<T> =>
      JSON.parse(await readFile(join(dir, name), 'utf8')) as T;
    const generation = await readJson<GenerationConfig>('generation_config.json');
    const preprocessor = await readJson<PreprocessorConfig>('preprocessor_config.json');
    normalizeSettingsOf(preprocessor, dir);
    const tokenizer = await BlipTokenizer.fromBundle(dir, manifest.special_tokens);
    const vision = await createSession(join(dir, graphs.vision), options);
    const decoder = await createSession(join(dir, graphs.decoder), options);
    return new BlipRuntime(dir, manifest, tokenizer, vision, decoder, generation, preprocessor, options);
  }

  get imageSize(): number {
    return this.preprocessor.size?.height ?? this.manifest.dims.image_size;
  }

  info(): ModelInfo {
    return {
      id: this.manifest.source.id,
      revision: this.manifest.source.revision,
      version: this.options.variant === 'fp32' ? this.manifest.version : `${this.manifest.version}-int8`,
      variant: this.options.variant,
      executionProvider: this.options.executionProvider,
      imageSize: this.imageSize,
      preprocessing: { ...this.preprocessor },
      generation: { ...this.generation },
    };
  }

  /** The bundle's rescale and normalization; a bundle without them is refused at load. */
  normalizeSettings(): NormalizeSettings {
    return normalizeSettingsOf(this.preprocessor, this.dir);
  }

  /**
   * The decoding settings for a request's options, validated. Request-level defaults come from
   * GENERATION_BOUNDS, not from the bundle's generation_config.json (which records the same effective
   * values), so a default and its explicit value always mean the same thing, as the cache key assumes.
   */
  resolveSettings(options: DecodeOptions): GenerationSettings {
    const problems = generationOptionProblems(options);
    if (problems.length > 0) {
      throw new ModelError(ModelErrorCode.BadOptions, problems.map((p) => p.message).join('; '));
    }
    const r = resolveGenerationOptions(options);
    const sample = r.decoding === 'sample';
    return {
      decoding: r.decoding,
      maxNewTokens: r.maxNewTokens,
      minLength: this.generation.min_length ?? 0,
      minNewTokens: r.minNewTokens,
      numBeams: sample ? 1 : r.numBeams,
      numReturnSequences: sample ? r.numCaptions : r.decoding === 'diverse' ? r.numCaptions : r.numBeams,
      lengthPenalty: sample ? 1 : r.lengthPenalty,
      repetitionPenalty: r.repetitionPenalty,
      earlyStopping: this.generation.early_stopping ?? false,
      sepTokenId: this.manifest.special_tokens.sep,
      padTokenId: this.manifest.special_tokens.pad,
      numBeamGroups: r.decoding === 'diverse' ? r.numCaptions : 1,
      diversityPenalty: r.decoding === 'diverse' ? r.diversityPenalty : 0,
      topP: sample ? r.topP : 1,
      temperature: sample ? r.temperature : 1,
      seed: sample ? (r.seed ?? 0) : 0,
    };
  }

  promptIds(prompt: string | undefined): number[] {
    const ids = this.tokenizer.promptIds(prompt);
    if (ids.length > LIMITS.maxPromptTokens) {
      throw new ModelError(
        ModelErrorCode.BadOptions,
        `prompt is too long (at most ${LIMITS.maxPromptTokens} tokens)`,
      );
    }
    return ids;
  }

  /**
   * The cross-attention K/V of every decoder layer for every image, [images, H, N, D] per layer. One
   * vision call per image: the encoder is GEMM-bound, so batching buys nothing and costs cache locality
   * (fp32 on 2 cores: 1050 ms per image alone, 1180-1290 ms per image at batch 4-8; int8: 706 vs 764-786).
   * The decoder, which is bandwidth-bound, is where batching pays. The int8 vision graph (exporter 1.3.0)
   * requires it: its activation scale is one per tensor, so its batch dimension is fixed to 1 and each
   * image's result cannot depend on the others.
   */
  async encode(pixelValues: Float32Array[]): Promise<CrossAttention> {
    const size = this.imageSize;
    const layers = this.manifest.dims.text_layers;
    const images = pixelValues.length;
    const keys: Float32Array[] = [];
    const values: Float32Array[] = [];
    for (let n = 0; n < images; n++) {
      const out = await this.vision.run({
        pixel_values: new ortRuntime.Tensor('float32', pixelValues[n], [1, 3, size, size]),
      });
      for (let i = 0; i < layers; i++) {
        const key = out[`cross_key.${i}`].data as Float32Array;
        const value = out[`cross_value.${i}`].data as Float32Array;
        if (images === 1) {
          keys.push(key);
          values.push(value);
          continue;
        }
        if (n === 0) {
          keys.push(new Float32Array(key.length * images));
          values.push(new Float32Array(value.length * images));
        }
        keys[i].set(key, n * key.length);
        values[i].set(value, n * value.length);
      }
    }
    return { keys, values, images };
  }

  /** Token-level generation on given pixel values (what the parity tests compare with `generate`). */
  async generate(
    pixelValues: Float32Array[],
    prompts: number[][],
    settings: GenerationSettings,
  ): Promise<DecodedSequence[][]> {
    const cross = await this.encode(pixelValues);
    return this.decode(
      cross,
      prompts,
      prompts.map((_, i) => i),
      settings,
    );
  }

  /**
   * Logits of every step when the decoder is fed a given continuation (teacher forcing): how the int8
   * graphs' agreement with fp32 is measured on the same token path.
   */
  async forcedLogits(pixelValues: Float32Array, prompt: number[], tokens: number[]): Promise<Float32Array[]> {
    const cross = await this.encode([pixelValues]);
    const backend = this.backend(cross);
    const steps = [new Float32Array(await backend.prefill([prompt], [0]))];
    for (const token of tokens.slice(0, -1)) steps.push(new Float32Array(await backend.step([token])));
    return steps;
  }

  private backend(cross: CrossAttention): OnnxDecoderBackend {
    const d = this.manifest.dims;
    return new OnnxDecoderBackend(
      this.decoder,
      {
        layers: d.text_layers,
        heads: d.text_heads,
        headDim: d.head_dim,
        imageTokens: d.image_tokens,
        vocabSize: d.vocab_size,
        sharedCross: sharedCrossAttention(this.manifest),
      },
      cross,
    );
  }

  /** Decoding from already computed cross-attention K/V (benchmarks time the two halves apart). */
  async decode(
    cross: CrossAttention,
    prompts: number[][],
    images: number[],
    settings: GenerationSettings,
  ): Promise<DecodedSequence[][]> {
    const backend = this.backend(cross);
    if (settings.decoding === 'sample') return sampleDecode(backend, prompts, images, settings);
    if (settings.decoding === 'diverse') return diverseBeamSearchDecode(backend, prompts, images, settings);
    if (settings.numBeams === 1) {
      const rows = await greedyDecode(backend, prompts, images, settings);
      return rows.map((r) => [r]);
    }
    return beamSearchDecode(backend, prompts, images, settings);
  }

  /** Captions a batch: one vision call, one decoding loop per distinct decoding setting. */
  async caption(requests: CaptionRequest[]): Promise<Caption[][]> {
    if (requests.length === 0) return [];
    const resolved = requests.map((r) => ({
      settings: this.resolveSettings(r.options),
      prompt: this.promptIds(r.options.prompt),
      numCaptions: r.options.numCaptions ?? 1,
    }));
    const norm = this.normalizeSettings();
    const pixels = requests.map((r) => {
      if (r.image.size !== this.imageSize || r.image.rgb.length !== this.imageSize * this.imageSize * 3) {
        throw new ModelError(
          ModelErrorCode.BadOptions,
          `image must be ${this.imageSize}x${this.imageSize} RGB`,
        );
      }
      return toPixelValues(r.image.rgb, this.imageSize, norm);
    });
    let cross: CrossAttention;
    try {
      cross = await this.encode(pixels);
    } catch (err) {
      throw new ModelError(ModelErrorCode.InferenceFailed, 'vision encoder failed', { cause: err });
    }
    const groups = new Map<string, number[]>();
    resolved.forEach((r, i) => {
      const key = JSON.stringify(r.settings);
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    const results: Caption[][] = new Array<Caption[]>(requests.length);
    for (const members of groups.values()) {
      const settings = resolved[members[0]].settings;
      let decoded: DecodedSequence[][];
      try {
        decoded = await this.decode(
          cross,
          members.map((i) => resolved[i].prompt),
          members,
          settings,
        );
      } catch (err) {
        throw new ModelError(ModelErrorCode.InferenceFailed, 'text decoder failed', { cause: err });
      }
      members.forEach((requestIndex, j) => {
        results[requestIndex] = this.toCaptions(decoded[j], resolved[requestIndex].numCaptions);
      });
    }
    return results;
  }

  /** Distinct texts, best confidence first, at most n. */
  private toCaptions(sequences: DecodedSequence[], n: number): Caption[] {
    const byText = new Map<string, number>();
    for (const s of sequences) {
      const text = this.tokenizer.decode(s.ids).trim();
      const confidence = Math.min(1, Math.exp(s.meanLogProb));
      if (!byText.has(text) || (byText.get(text) ?? 0) < confidence) byText.set(text, confidence);
    }
    return [...byText.entries()]
      .map(([text, confidence]) => ({ text, confidence }))
      .sort((a, b) => b.confidence - a.confidence)
      .slice(0, n);
  }

  async release(): Promise<void> {
    await this.vision.release();
    await this.decoder.release();
  }
}
