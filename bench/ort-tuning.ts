/**
 * `node build/bench/ort-tuning.js [--bundle DIR] [--variant fp32|int8] [--configs a,b] [--batches 1,8]`:
 * ONNX Runtime session settings tried on the bundle's own graphs, outside the service, to back the
 * runtime proposals of docs/benchmarks.md with figures: per setting, the vision encoder's wall time and
 * the decoder's ms per step (prefill + 19 cached steps, the shape of a 20-token caption), each with the
 * process CPU time it burned (ONNX Runtime's threads included), for a batch of 1 and of 8 (the encoder
 * one image per call, as the runtime runs it).
 * `current` is what src/model/onnx/sessions.ts sets today.
 */
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const root = resolve(__dirname, '..', '..');
const { values } = parseArgs({
  options: {
    bundle: { type: 'string', default: join(root, 'models', 'bench-base') },
    variant: { type: 'string', default: 'fp32' },
    configs: { type: 'string', default: 'current,no-spin,intra1,intra1-no-spin,basic-opt' },
    batches: { type: 'string', default: '1,8' },
    repeats: { type: 'string', default: '3' },
  },
});

const base: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  enableCpuMemArena: true,
  enableMemPattern: true,
  interOpNumThreads: 1,
};
const noSpin = { session: { 'intra_op.allow_spinning': '0', 'inter_op.allow_spinning': '0' } };
const CONFIGS: Record<string, ort.InferenceSession.SessionOptions> = {
  current: base,
  'no-spin': { ...base, extra: noSpin },
  intra1: { ...base, intraOpNumThreads: 1 },
  'intra1-no-spin': { ...base, intraOpNumThreads: 1, extra: noSpin },
  'basic-opt': { ...base, graphOptimizationLevel: 'basic' },
  'no-arena': { ...base, enableCpuMemArena: false },
};

interface Manifest {
  dims: {
    image_size: number;
    text_layers: number;
    text_heads: number;
    head_dim: number;
    image_tokens: number;
    vocab_size: number;
  };
  graphs: Record<string, { vision: string; decoder: string }>;
  special_tokens: { bos: number };
}

function cpuSec(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** One image's [1, ...] output as [batch, ...], the image repeated. */
function tile(t: ort.Tensor, batch: number): ort.Tensor {
  const one = t.data as Float32Array;
  const data = new Float32Array(one.length * batch);
  for (let b = 0; b < batch; b++) data.set(one, b * one.length);
  return new ort.Tensor('float32', data, [batch, ...t.dims.slice(1)]);
}

async function measure(
  name: string,
  options: ort.InferenceSession.SessionOptions,
  m: Manifest,
  batches: number[],
  repeats: number,
): Promise<void> {
  const graphs = m.graphs[values.variant];
  const vision = await ort.InferenceSession.create(join(values.bundle, graphs.vision), options);
  const decoder = await ort.InferenceSession.create(join(values.bundle, graphs.decoder), options);
  const d = m.dims;
  for (const batch of batches) {
    const size = d.image_size;
    const pixels = new Float32Array(3 * size * size).map(() => Math.random() * 2 - 1);
    const feedsV = { pixel_values: new ort.Tensor('float32', pixels, [1, 3, size, size]) };
    await vision.run(feedsV); // warm-up
    let enc = Infinity;
    let encCpu = 0;
    let cross: ort.InferenceSession.OnnxValueMapType = {};
    for (let r = 0; r < repeats; r++) {
      const c0 = cpuSec();
      const t0 = performance.now();
      // One vision call per image, as BlipRuntime.encode does (the int8 vision graph takes batch 1 only).
      for (let n = 0; n < batch; n++) cross = await vision.run(feedsV);
      const ms = performance.now() - t0;
      if (ms < enc) {
        enc = ms;
        encCpu = cpuSec() - c0;
      }
    }
    const crossFeeds: Record<string, ort.Tensor> = {};
    for (let i = 0; i < d.text_layers; i++) {
      crossFeeds[`cross_key.${i}`] = tile(cross[`cross_key.${i}`] as ort.Tensor, batch);
      crossFeeds[`cross_value.${i}`] = tile(cross[`cross_value.${i}`] as ort.Tensor, batch);
    }
    const caption = async (): Promise<number> => {
      let past: Record<string, ort.Tensor> = {};
      for (let i = 0; i < d.text_layers; i++) {
        const dims = [batch, d.text_heads, 0, d.head_dim];
        past[`past_key.${i}`] = new ort.Tensor('float32', new Float32Array(0), dims);
        past[`past_value.${i}`] = new ort.Tensor('float32', new Float32Array(0), dims);
      }
      let tokens = new BigInt64Array(batch).fill(BigInt(m.special_tokens.bos));
      for (let step = 0; step < 20; step++) {
        const out = await decoder.run({
          input_ids: new ort.Tensor('int64', tokens, [batch, 1]),
          position_ids: new ort.Tensor('int64', new BigInt64Array(batch).fill(BigInt(step)), [batch, 1]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * (step + 1)).fill(1n), [
            batch,
            step + 1,
          ]),
          ...past,
          ...crossFeeds,
        });
        const logits = out.logits.data as Float32Array;
        const next = new BigInt64Array(batch);
        for (let b = 0; b < batch; b++) {
          let best = 0;
          for (let v = 1; v < d.vocab_size; v++)
            if (logits[b * d.vocab_size + v] > logits[b * d.vocab_size + best]) best = v;
          next[b] = BigInt(best);
        }
        tokens = next;
        past = {};
        for (let i = 0; i < d.text_layers; i++) {
          past[`past_key.${i}`] = out[`present_key.${i}`] as ort.Tensor;
          past[`past_value.${i}`] = out[`present_value.${i}`] as ort.Tensor;
        }
      }
      return 20;
    };
    await caption(); // warm-up
    let dec = Infinity;
    let decCpu = 0;
    for (let r = 0; r < repeats; r++) {
      const c0 = cpuSec();
      const t0 = performance.now();
      await caption();
      const ms = performance.now() - t0;
      if (ms < dec) {
        dec = ms;
        decCpu = cpuSec() - c0;
      }
    }
    process.stdout.write(
      `| ${name} | ${values.variant} | ${batch} | ${enc.toFixed(0)} | ${encCpu.toFixed(2)} | ${(dec / 20).toFixed(1)} | ${decCpu.toFixed(2)} | ${((enc + dec) / batch).toFixed(0)} |\n`,
    );
  }
  await vision.release();
  await decoder.release();
}

async function main(): Promise<void> {
  const m = JSON.parse(readFileSync(join(values.bundle, 'manifest.json'), 'utf8')) as Manifest;
  const batches = values.batches.split(',').map(Number);
  process.stdout.write(
    `ONNX Runtime session settings, ${cpus().length} cores, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n\n` +
      '| setting | graphs | batch | encoder ms | encoder CPU-s | decoder ms/step | decoder CPU-s (20 steps) | ms per caption |\n' +
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n',
  );
  for (const name of values.configs.split(',')) {
    const options = CONFIGS[name];
    if (options === undefined) throw new Error(`unknown setting ${name}: ${Object.keys(CONFIGS).join(', ')}`);
    await measure(name, options, m, batches, Number(values.repeats));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
