/** Paths tests read: the repository root, ../shared beside it, and the tiny model bundle. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

function findRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error(`cannot find the repository root above ${__dirname}`);
}

export const repoRoot = findRoot();
export const sharedDir = process.env.SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
export const imagesDir = join(sharedDir, 'images');

/**
 * The tiny random BLIP bundle: TEST_MODEL_PATH, else models/test-tiny (npm run model:random -- --size
 * tiny --seed 1 --out models/test-tiny), else /tmp/blip-tiny. Throws naming the command when none exists.
 */
export function tinyModelPath(): string {
  const candidates = [process.env.TEST_MODEL_PATH, join(repoRoot, 'models', 'test-tiny'), '/tmp/blip-tiny'];
  for (const c of candidates)
    if (c !== undefined && c !== '' && existsSync(join(c, 'manifest.json'))) return c;
  throw new Error(
    'No tiny test bundle: run `npm run model:random -- --size tiny --seed 1 --out models/test-tiny` ' +
      `(looked in ${candidates.filter(Boolean).join(', ')})`,
  );
}
