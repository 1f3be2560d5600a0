/**
 * `npm run bench:model [-- --bundle DIR --repeats N --batch-sizes 1,4,8]`: the BLIP runtime's speed
 * against Hugging Face PyTorch `generate` on the same weights, measured in the same run. For each batch
 * size: encoder ms, decoder ms per token, captions per second and peak RSS, for fp32 and int8. Each side
 * runs in its own process so peak RSS is its own. 20-token greedy captions (min = max = 20 new tokens).
 * Appends a table to docs/benchmarks.md and writes bench/results/model-<date>.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleExporter, cpuFeatures } from './lib/cpu';
import { BlipRuntime } from '../src/model/blip-runtime';
import { decodeImage } from '../src/image/decode-image';
import { toPixelValues } from '../src/model/preprocess/normalize';
import { readFile } from 'node:fs/promises';

interface Row {
  batch: number;
  encoder_ms: number;
  decoder_ms_per_token: number;
  captions_per_second: number;
  tokens: number;
  total_ms: number;
}
interface SideResult {
  results: Row[];
  peak_rss_mb: number;
}

const root = resolve(__dirname, '..', '..');
const photos = join(root, '..', 'shared', 'images', 'photos');
const python = join(root, 'tools', 'blip-export', '.venv', 'bin', 'python');

const { values } = parseArgs({
  options: {
    bundle: { type: 'string', default: join(root, 'models', 'bench-base') },
    repeats: { type: 'string', default: '2' },
    'batch-sizes': { type: 'string', default: '1,4,8' },
    child: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const batchSizes = values['batch-sizes'].split(',').map(Number);
const repeats = Number(values.repeats);
const images = readdirSync(photos)
  .filter((f) => f.endsWith('.jpg') || f.endsWith('.jpeg'))
  .sort()
  .slice(0, 8)
  .map((f) => join(photos, f));

async function child(variant: 'fp32' | 'int8'): Promise<void> {
  const runtime = await BlipRuntime.load(values.bundle, {
    variant,
    executionProvider: 'cpu',
    intraOpThreads: 0,
    interOpThreads: 1,
    skipVerify: true,
  });
  const pixels = await Promise.all(
    images.map(async (p) =>
      toPixelValues(
        (await decodeImage(await readFile(p))).rgb,
        runtime.imageSize,
        runtime.normalizeSettings(),
      ),
    ),
  );
  const settings = { ...runtime.resolveSettings({}), maxNewTokens: 20, minLength: 21 };
  const results: Row[] = [];
  for (const bs of batchSizes) {
    const batch = Array.from({ length: bs }, (_, i) => pixels[i % pixels.length]);
    const prompts = batch.map(() => runtime.promptIds(undefined));
    await runtime.generate(batch, prompts, settings);
    let encoder = Infinity;
    let total = Infinity;
    let tokens = 0;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const cross = await runtime.encode(batch);
      const t1 = performance.now();
      const out = await runtime.decode(
        cross,
        prompts,
        prompts.map((_, i) => i),
        settings,
      );
      const t2 = performance.now();
      encoder = Math.min(encoder, t1 - t0);
      total = Math.min(total, t2 - t0);
      tokens = out[0][0].ids.length - 1;
    }
    results.push({
      batch: bs,
      encoder_ms: encoder,
      decoder_ms_per_token: (total - encoder) / tokens,
      captions_per_second: (bs * 1000) / total,
      tokens,
      total_ms: total,
    });
    process.stderr.write(`${variant} batch ${bs}: ${total.toFixed(0)} ms\n`);
  }
  const out: SideResult = { results, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function run(cmd: string, args: string[]): SideResult {
  const res = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with ${res.status}`);
  const last = res.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as SideResult;
}

function ensureBundle(): void {
  if (
    existsSync(join(values.bundle, 'manifest.json')) &&
    existsSync(join(values.bundle, 'text_decoder.int8.onnx'))
  ) {
    const v = bundleExporter(root, values.bundle);
    if (v.bundle === v.current) return;
    process.stderr.write(
      `WARNING: ${values.bundle} was made by exporter ${v.bundle}, this checkout's exporter is ${v.current}; ` +
        'its int8 graphs may not be the current ones (re-export it with npm run model:random)\n',
    );
    return;
  }
  process.stderr.write(
    `Exporting a random base bundle with int8 graphs to ${values.bundle} (a few minutes)...\n`,
  );
  execFileSync(
    'bash',
    [
      join(root, 'scripts', 'model-random.sh'),
      '--size',
      'base',
      '--seed',
      '1',
      '--out',
      values.bundle,
      '--quantize',
      'int8',
    ],
    {
      stdio: 'inherit',
    },
  );
}

async function parent(): Promise<void> {
  ensureBundle();
  const loadBefore = loadavg();
  const self = __filename;
  const sides: Record<string, SideResult> = {};
  // Alternate so drift in machine load hits every side alike.
  sides.torch = run(python, [
    join(root, 'bench', 'reference', 'model_bench.py'),
    '--bundle',
    values.bundle,
    '--images',
    ...images,
    '--batch-sizes',
    ...batchSizes.map(String),
    '--repeats',
    String(repeats),
    '--threads',
    String(Math.min(2, cpus().length)),
  ]);
  for (const variant of ['fp32', 'int8'] as const) {
    sides[variant] = run(process.execPath, [
      self,
      '--child',
      variant,
      '--bundle',
      values.bundle,
      '--repeats',
      String(repeats),
      '--batch-sizes',
      values['batch-sizes'],
    ]);
  }
  const lines = [
    `| batch | side | encoder ms | decoder ms/token | captions/s | x torch | peak RSS MB |`,
    `| ---: | --- | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const bs of batchSizes) {
    const ref = sides.torch.results.find((r) => r.batch === bs);
    for (const name of ['torch', 'fp32', 'int8']) {
      const row = sides[name].results.find((r) => r.batch === bs);
      if (row === undefined || ref === undefined) continue;
      const ratio = row.captions_per_second / ref.captions_per_second;
      lines.push(
        `| ${bs} | ${name === 'torch' ? 'PyTorch generate' : `ONNX Runtime ${name}`} | ${row.encoder_ms.toFixed(0)} | ${row.decoder_ms_per_token.toFixed(1)} | ${row.captions_per_second.toFixed(2)} | ${ratio.toFixed(2)} | ${sides[name].peak_rss_mb.toFixed(0)} |`,
      );
    }
  }
  const date = new Date().toISOString();
  const loadAfter = loadavg();
  const cpu = cpuFeatures();
  const load = `load average ${loadBefore.map((x) => x.toFixed(1)).join(' / ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' / ')} after`;
  const table = lines.join('\n');
  process.stdout.write(`\n${cpu.kind}, ${load}\n${table}\n`);
  if (!values['no-write']) {
    const resultsDir = join(root, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(
      join(resultsDir, `model-${date.slice(0, 10)}.json`),
      JSON.stringify(
        {
          date,
          cpus: cpus().length,
          cpu_model: cpus()[0]?.model ?? 'unknown',
          cpu_kind: cpu.kind,
          cpu_flags: cpu.flags,
          load_before: loadBefore,
          load_after: loadAfter,
          exporter_version: bundleExporter(root, values.bundle),
          sides,
        },
        null,
        2,
      ),
    );
    appendFileSync(
      join(root, 'docs', 'benchmarks.md'),
      `\n### bench:model, ${date.slice(0, 16)} UTC, ${cpus().length} cores (${cpu.kind}), ${load}, random base weights, 20-token greedy captions\n\n${table}\n`,
    );
  }
}

(values.child !== undefined ? child(values.child === 'int8' ? 'int8' : 'fp32') : parent()).catch(
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
