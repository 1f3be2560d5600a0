/**
 * `npm run caption -- <image...> [--prompt "a picture of"] [--num 3] [--model DIR] [--variant int8] [--json]`
 * Captions image files with a model bundle and prints each image's captions with their confidence.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { BlipRuntime } from '../model/blip-runtime';
import { ModelError } from '../model/model.errors';
import { decodeImage } from '../model/preprocess/decode-image';

const usage = `usage: npm run caption -- <image...> [--prompt TEXT] [--num N] [--beams N] [--model DIR] [--variant fp32|int8] [--json]`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      prompt: { type: 'string' },
      num: { type: 'string', default: '1' },
      beams: { type: 'string' },
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
      const image = await decodeImage(await readFile(path), runtime.imageSize);
      const [captions] = await runtime.caption([
        {
          image,
          options: {
            prompt: values.prompt,
            numCaptions: Number(values.num),
            ...(values.beams !== undefined ? { numBeams: Number(values.beams) } : {}),
          },
        },
      ]);
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
