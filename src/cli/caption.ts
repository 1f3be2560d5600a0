/**
 * `npm run caption -- <image...> [--prompt "a picture of"] [--num 3] [--model DIR] [--variant int8] [--json]`
 * Captions image files with a model bundle and prints each image's captions with their confidence.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { normalizeOptions, withDerivedSeed } from '../cache/cache-key';
import { BlipRuntime } from '../model/blip-runtime';
import {
  GENERATION_FIELDS,
  generationOptionProblems,
  type DecodeOptions,
  type DecodingMode,
  type GenerationField,
} from '../model/caption-model.port';
import { ModelError, ModelErrorCode } from '../model/model.errors';
import { decodeImage } from '../model/preprocess/decode-image';

const usage = `usage: npm run caption -- <image...> [--prompt TEXT] [--num N] [--beams N] [--decoding beam|diverse|sample]
  [--max-new-tokens N] [--min-new-tokens N] [--repetition-penalty X] [--length-penalty X] [--diversity-penalty X]
  [--top-p X] [--temperature X] [--seed N] [--model DIR] [--variant fp32|int8] [--json]`;

// Generation options (issue 11): --kebab-case flags of the API's options, same bounds and defaults.
const GENERATION_FLAGS = {
  decoding: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  'min-new-tokens': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  'length-penalty': { type: 'string' },
  'diversity-penalty': { type: 'string' },
  'top-p': { type: 'string' },
  temperature: { type: 'string' },
  seed: { type: 'string' },
} as const;

/** The flags as DecodeOptions; a sample seed left out is derived as the API derives it. */
function generationOptions(
  values: Record<string, string | boolean | undefined>,
  bytes: Buffer,
): DecodeOptions {
  const options: DecodeOptions = {
    prompt: values.prompt as string | undefined,
    numCaptions: Number(values.num),
  };
  if (values.beams !== undefined) options.numBeams = Number(values.beams);
  if (values.decoding !== undefined) options.decoding = values.decoding as DecodingMode;
  for (const field of Object.keys(GENERATION_FIELDS) as GenerationField[]) {
    const flag = values[field.replace(/_/g, '-')];
    if (typeof flag === 'string' && field !== 'num_captions' && field !== 'num_beams') {
      options[GENERATION_FIELDS[field]] = Number(flag);
    }
  }
  const problems = generationOptionProblems(options);
  if (problems.length > 0) {
    throw new ModelError(ModelErrorCode.BadOptions, problems.map((p) => p.message).join('; '));
  }
  return withDerivedSeed(normalizeOptions(options), createHash('sha256').update(bytes).digest('hex'));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      prompt: { type: 'string' },
      num: { type: 'string', default: '1' },
      beams: { type: 'string' },
      ...GENERATION_FLAGS,
      model: { type: 'string', default: process.env.MODEL_PATH ?? 'models/blip-base' },
      variant: { type: 'string', default: process.env.MODEL_VARIANT ?? 'fp32' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stderr.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  const variant = values.variant === 'int8' ? 'int8' : 'fp32';
  const runtime = await BlipRuntime.load(values.model, {
    variant,
    executionProvider: process.env.EXECUTION_PROVIDER === 'cuda' ? 'cuda' : 'cpu',
    intraOpThreads: Number(process.env.ORT_INTRA_OP_THREADS ?? 0),
    interOpThreads: Number(process.env.ORT_INTER_OP_THREADS ?? 1),
  });
  const info = runtime.info();
  let failures = 0;
  for (const path of positionals) {
    try {
      const bytes = await readFile(path);
      const image = await decodeImage(bytes, runtime.imageSize);
      const [captions] = await runtime.caption([{ image, options: generationOptions(values, bytes) }]);
      if (values.json) {
        const out = { image: path, captions, model: { id: info.id, version: info.version } };
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } else {
        process.stdout.write(`${path}\n`);
        for (const c of captions) process.stdout.write(`  ${c.confidence.toFixed(4)}  ${c.text}\n`);
      }
    } catch (err) {
      failures++;
      const message = err instanceof ModelError ? `${err.code}: ${err.message}` : String(err);
      if (values.json) process.stdout.write(`${JSON.stringify({ image: path, error: message })}\n`);
      else process.stderr.write(`${path}: ${message}\n`);
    }
  }
  await runtime.release();
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
