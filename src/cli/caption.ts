/**
 * `npm run caption -- <image...> [--prompt "a picture of"] [--num 3] [--model DIR] [--variant int8] [--batch] [--json]`
 * Captions image files with a model bundle and prints each image's captions with their confidence.
 * One model call per image by default; with --batch all images go through ONE model call (one batch, as
 * the service batches concurrent requests), so comparing the two runs checks batch invariance (issue 11).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { normalizeOptions, withDerivedSeed } from '../cache/cache-key';
import { loadSettings } from '../config/load-settings';
import { decodeImage } from '../image/decode-image';
import { ImageError } from '../image/image.errors';
import { ImageSettings } from '../image/image.settings';
import { BlipRuntime } from '../model/blip-runtime';
import {
  GENERATION_FIELDS,
  generationOptionProblems,
  type Caption,
  type CaptionRequest,
  type DecodeOptions,
  type DecodingMode,
  type GenerationField,
} from '../model/caption-model.port';
import { ModelError, ModelErrorCode } from '../model/model.errors';
import { ModelSettings } from '../model/model.settings';

const usage = `usage: npm run caption -- <image...> [--prompt TEXT] [--num N] [--beams N] [--decoding beam|diverse|sample]
  [--max-new-tokens N] [--min-new-tokens N] [--repetition-penalty X] [--length-penalty X] [--diversity-penalty X]
  [--top-p X] [--temperature X] [--seed N] [--model DIR] [--variant fp32|int8] [--batch] [--json]`;

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
  // The same validated settings as the services (MODEL_PATH, MODEL_VARIANT, EXECUTION_PROVIDER, ORT_*,
  // MAX_IMAGE_PIXELS, MAX_IMAGE_FRAMES); flags override the first two.
  const settings = loadSettings(ModelSettings);
  const imageSettings = loadSettings(ImageSettings);
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      prompt: { type: 'string' },
      num: { type: 'string', default: '1' },
      beams: { type: 'string' },
      ...GENERATION_FLAGS,
      model: { type: 'string', default: settings.MODEL_PATH },
      variant: { type: 'string', default: settings.MODEL_VARIANT },
      json: { type: 'boolean', default: false },
      batch: { type: 'boolean', default: false },
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
    executionProvider: settings.EXECUTION_PROVIDER,
    intraOpThreads: settings.ORT_INTRA_OP_THREADS,
    interOpThreads: settings.ORT_INTER_OP_THREADS,
    allowSpinning: settings.ORT_ALLOW_SPINNING,
  });
  const info = runtime.info();
  const decodeLimits = {
    maxPixels: imageSettings.MAX_IMAGE_PIXELS,
    maxFrames: imageSettings.MAX_IMAGE_FRAMES,
  };
  const print = (path: string, captions: Caption[]): void => {
    if (values.json) {
      const out = { image: path, captions, model: { id: info.id, version: info.version } };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
      process.stdout.write(`${path}\n`);
      for (const c of captions) process.stdout.write(`  ${c.confidence.toFixed(4)}  ${c.text}\n`);
    }
  };
  const fail = (path: string, err: unknown): void => {
    const message =
      err instanceof ModelError || err instanceof ImageError ? `${err.code}: ${err.message}` : String(err);
    if (values.json) process.stdout.write(`${JSON.stringify({ image: path, error: message })}\n`);
    else process.stderr.write(`${path}: ${message}\n`);
  };
  let failures = 0;
  if (values.batch) {
    // Every image that decodes goes into one runtime.caption() call: one batch.
    const batch: { path: string; request: CaptionRequest }[] = [];
    for (const path of positionals) {
      try {
        const bytes = await readFile(path);
        batch.push({
          path,
          request: {
            image: await decodeImage(bytes, runtime.imageSize, decodeLimits),
            options: generationOptions(values, bytes),
          },
        });
      } catch (err) {
        failures++;
        fail(path, err);
      }
    }
    try {
      const results = await runtime.caption(batch.map((b) => b.request));
      batch.forEach((b, i) => print(b.path, results[i]));
    } catch (err) {
      failures += batch.length;
      for (const b of batch) fail(b.path, err);
    }
  }
  for (const path of values.batch ? [] : positionals) {
    try {
      const bytes = await readFile(path);
      const image = await decodeImage(bytes, runtime.imageSize, decodeLimits);
      const [captions] = await runtime.caption([{ image, options: generationOptions(values, bytes) }]);
      print(path, captions);
    } catch (err) {
      failures++;
      fail(path, err);
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
