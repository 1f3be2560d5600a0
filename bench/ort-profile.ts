/**
 * `npm run bench:ort-profile [-- --bundle DIR --variant fp32|int8 --rows 1,3,8 --past 10 --shared]`:
 * where one decoder step spends its time, from ONNX Runtime's own profiler. For each row count, a step
 * with a `past`-long self-attention cache on synthetic inputs: wall ms per step without the profiler,
 * then ms per step by operator type and the heaviest nodes with it. `--shared` feeds one image's
 * cross-attention K/V to all rows (beams, bundle format 2); otherwise one image per row.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';

const root = resolve(__dirname, '..', '..');
const { values } = parseArgs({
  options: {
    bundle: { type: 'string', default: join(root, 'models', 'bench-base') },
    variant: { type: 'string', default: 'fp32' },
    rows: { type: 'string', default: '1,3,8' },
    past: { type: 'string', default: '10' },
    runs: { type: 'string', default: '10' },
    shared: { type: 'boolean', default: false },
  },
});

interface Dims {
  text_layers: number;
  text_heads: number;
  head_dim: number;
  image_tokens: number;
}
interface ProfileEvent {
  cat?: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

const manifest = JSON.parse(readFileSync(join(values.bundle, 'manifest.json'), 'utf8')) as {
  dims: Dims;
  graphs: Record<string, { decoder: string }>;
};
const graph = manifest.graphs[values.variant]?.decoder;
if (graph === undefined) throw new Error(`no ${values.variant} decoder in ${values.bundle}`);
const { text_layers: L, text_heads: H, head_dim: D, image_tokens: N } = manifest.dims;
const past = Number(values.past);
const runs = Number(values.runs);

function feeds(rows: number): Record<string, ort.Tensor> {
  const images = values.shared ? 1 : rows;
  const f: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', new BigInt64Array(rows).fill(1037n), [rows, 1]),
    position_ids: new ort.Tensor('int64', new BigInt64Array(rows).fill(BigInt(past)), [rows, 1]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(rows * (past + 1)).fill(1n), [rows, past + 1]),
  };
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  for (let i = 0; i < L; i++) {
    f[`past_key.${i}`] = new ort.Tensor('float32', random(rows * H * past * D), [rows, H, past, D]);
    f[`past_value.${i}`] = new ort.Tensor('float32', random(rows * H * past * D), [rows, H, past, D]);
    f[`cross_key.${i}`] = new ort.Tensor('float32', random(images * H * N * D), [images, H, N, D]);
    f[`cross_value.${i}`] = new ort.Tensor('float32', random(images * H * N * D), [images, H, N, D]);
  }
  return f;
}

async function session(profileDir?: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(values.bundle, graph as string), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(profileDir !== undefined
      ? { enableProfiling: true, profileFilePrefix: join(profileDir, 'decoder') }
      : {}),
  });
}

async function main(): Promise<void> {
  for (const rows of values.rows.split(',').map(Number)) {
    const input = feeds(rows);
    const plain = await session();
    for (let i = 0; i < 3; i++) await plain.run(input);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await plain.run(input);
    const wall = (performance.now() - t0) / runs;
    await plain.release();

    const dir = mkdtempSync(join(tmpdir(), 'ort-profile-'));
    const profiled = await session(dir);
    for (let i = 0; i < runs; i++) await profiled.run(input);
    profiled.endProfiling();
    await profiled.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    const events = JSON.parse(readFileSync(join(dir, file as string), 'utf8')) as ProfileEvent[];
    rmSync(dir, { recursive: true, force: true });
    const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    const calls = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length;
    const byOp = new Map<string, number>();
    const byNode = new Map<string, number>();
    for (const e of nodes) {
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      // Layer numbers collapsed: the same node of every layer adds up.
      const name = `${op} ${e.name.replace('_kernel_time', '').replace(/\d+/g, '#')}`;
      byNode.set(name, (byNode.get(name) ?? 0) + e.dur);
    }
    const ms = (us: number): string => (us / calls / 1000).toFixed(2).padStart(7);
    console.log(
      `\n${values.variant} decoder, ${rows} row(s), past ${past}${values.shared ? ', one shared image' : ''}: ${wall.toFixed(1)} ms per step (${runs} runs, profiler off)`,
    );
    console.log('  ms/step by operator type (profiler on):');
    for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 8))
      console.log(`  ${ms(us)}  ${op}`);
    console.log('  heaviest nodes (all layers):');
    for (const [n, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 8))
      console.log(`  ${ms(us)}  ${n}`);
  }
}

void main();
