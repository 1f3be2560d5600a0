/** Runs tools/blip-export/reference.py (Hugging Face generate on the bundle's hf/ weights) once. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ReferenceStep {
  token: number;
  logprob: number;
  top2: [[number, number], [number, number]];
}
export interface ReferenceResult {
  prompt: string;
  prompt_ids: number[];
  error: string | null;
  greedy: { sequence: number[]; text: string; steps: ReferenceStep[] };
  beam: { sequences: number[][]; scores: number[] | null; texts: string[] };
}
export interface ReferenceImage {
  index: number;
  path: string;
  error: string | null;
  original_mode: string | null;
  pixel_values: string | null;
  pixel_shape: [number, number, number] | null;
  results: ReferenceResult[];
}
export interface Reference {
  versions: Record<string, string>;
  prompts: { prompt: string; prompt_ids: number[] }[];
  images: ReferenceImage[];
  elapsed_s: number;
  outDir: string;
}

export const projectRoot = resolve(__dirname, '..', '..', '..');
export const sharedImages = join(projectRoot, '..', 'shared', 'images');
const python = join(projectRoot, 'tools', 'blip-export', '.venv', 'bin', 'python');

/**
 * Exports the tiny random bundle if it is missing or was made by another exporter version
 * (scripts/ensure-tiny-bundle.sh; the test script normally has done it already).
 */
export function ensureTinyBundle(dir: string): void {
  execFileSync('bash', [join(projectRoot, 'scripts', 'ensure-tiny-bundle.sh'), dir], {
    stdio: 'inherit',
  });
}

export function runReference(
  bundle: string,
  images: string[],
  prompts: string[],
  beams: { numBeams: number; numReturn: number },
): Reference {
  // The reference is cached by everything that decides its output, so reruns on an unchanged bundle are fast.
  const script = join(projectRoot, 'tools', 'blip-export', 'reference.py');
  const key = createHash('sha256')
    .update(readFileSync(join(bundle, 'manifest.json')))
    .update(readFileSync(script))
    .update(JSON.stringify({ images, prompts, beams }))
    .digest('hex')
    .slice(0, 16);
  const outDir = join(projectRoot, 'build', 'parity-reference', key);
  if (existsSync(join(outDir, 'reference.json'))) return load(outDir);
  mkdirSync(outDir, { recursive: true });
  execFileSync(
    python,
    [
      join(projectRoot, 'tools', 'blip-export', 'reference.py'),
      '--bundle',
      bundle,
      '--images',
      ...images,
      '--prompts',
      ...prompts,
      '--num-beams',
      String(beams.numBeams),
      '--num-return',
      String(beams.numReturn),
      '--out',
      outDir,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  return load(outDir);
}

function load(outDir: string): Reference {
  const text = readFileSync(join(outDir, 'reference.json'), 'utf8');
  return { ...(JSON.parse(text) as Omit<Reference, 'outDir'>), outDir };
}

export function readPixels(reference: Reference, image: ReferenceImage): Float32Array {
  const buf = readFileSync(join(reference.outDir, image.pixel_values ?? ''));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** One case of tools/blip-export/reference_decoding.py: wire-named options of decoding=diverse or sample. */
export interface DecodingCase {
  prompt: string;
  decoding: 'diverse' | 'sample';
  num_captions: number;
  num_beams?: number;
  diversity_penalty?: number;
  top_p?: number;
  temperature?: number;
  seed?: number;
  max_new_tokens?: number;
  min_new_tokens?: number;
  repetition_penalty?: number;
  length_penalty?: number;
}
export interface DecodingReference {
  versions: Record<string, string>;
  harness_check: { equal: number; total: number };
  images: { pixels: string; results: { case: number; sequences: number[][]; scores: number[] }[] }[];
  elapsed_s: number;
}

/** Runs tools/blip-export/reference_decoding.py once per bundle, pixel files and cases (cached like runReference). */
export function runDecodingReference(
  bundle: string,
  pixelFiles: string[],
  cases: DecodingCase[],
): DecodingReference {
  const script = join(projectRoot, 'tools', 'blip-export', 'reference_decoding.py');
  const key = createHash('sha256')
    .update(readFileSync(join(bundle, 'manifest.json')))
    .update(readFileSync(script))
    .update(JSON.stringify({ pixelFiles, cases }))
    .digest('hex')
    .slice(0, 16);
  const outDir = join(projectRoot, 'build', 'parity-reference', `decoding-${key}`);
  const file = join(outDir, 'reference.json');
  if (!existsSync(file)) {
    mkdirSync(outDir, { recursive: true });
    const casesFile = join(outDir, 'cases.json');
    writeFileSync(casesFile, JSON.stringify(cases));
    execFileSync(
      python,
      [script, '--bundle', bundle, '--pixels', ...pixelFiles, '--cases', casesFile, '--out', outDir],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as DecodingReference;
}
