/**
 * `npm run bench:int8 [-- --bundle DIR --photos N]`: the bench's int8 report alone, without the HTTP
 * systems (issue 11): int8 against fp32 on the benchmark photos (identical greedy captions, ids equal
 * position by position, mean teacher-forced logit cosine) and int8 batch invariance (every photo alone
 * against the same photo in two batches of all of them: identical ids and confidence). Prints the JSON
 * and writes bench/results/int8-<date>.json with the CPU kind and the load average.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleExporter, cpuFeatures } from './lib/cpu';
import { int8Agreement } from './lib/int8-agreement';

const root = resolve(__dirname, '..', '..');
const { values } = parseArgs({
  options: {
    bundle: { type: 'string', default: join(root, 'models', 'bench-base') },
    photos: { type: 'string', default: '8' },
    dir: { type: 'string', default: join(root, '..', 'shared', 'images', 'photos') },
    'no-write': { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const files = readdirSync(values.dir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .slice(0, Number(values.photos));
  const loadBefore = loadavg();
  const started = Date.now();
  const agreement = await int8Agreement(
    values.bundle,
    files.map((f) => readFileSync(join(values.dir, f))),
  );
  const manifest = JSON.parse(readFileSync(join(values.bundle, 'manifest.json'), 'utf8')) as {
    version: string;
  };
  const result = {
    date: new Date().toISOString(),
    bundle: {
      path: values.bundle,
      version: manifest.version,
      exporter_version: bundleExporter(root, values.bundle).bundle,
    },
    host: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? 'unknown',
      ...(({ kind, flags }) => ({ cpu_kind: kind, cpu_flags: flags }))(cpuFeatures()),
      load_before: loadBefore,
      load_after: loadavg(),
    },
    photos: files,
    seconds: (Date.now() - started) / 1000,
    int8_agreement: agreement,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (!values['no-write']) {
    const dir = join(root, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `int8-${result.date.slice(0, 16).replace(':', '-')}.json`),
      `${JSON.stringify(result, null, 2)}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
