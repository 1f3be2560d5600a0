/** `npm run caption -- A B C --batch`: one model call for all images gives what one call per image gives. */
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imagesDir, repoRoot, tinyModelPath } from '../../helpers/paths';
import { runCli, type CliRun } from '../../helpers/run-cli';

const CLI = join(repoRoot, 'dist', 'cli', 'caption.js');

function run(args: string[]): Promise<CliRun> {
  return runCli(CLI, args);
}

test('caption --batch (int8): the same captions and confidences as one call per image, bad files reported', async () => {
  const images = ['320x240.jpg', 'Landscape_1.jpg', 'flowers.jpeg', 'concert.jpg'].map((f) =>
    join(imagesDir, 'photos', f),
  );
  const missing = join(imagesDir, 'photos', 'no-such-file.jpg');
  const args = [...images, missing, '--model', tinyModelPath(), '--variant', 'int8', '--num', '2', '--json'];
  const alone = await run(args);
  const batch = await run([...args, '--batch']);
  assert.equal(alone.code, 1, alone.stderr);
  assert.equal(batch.code, 1, batch.stderr);
  const lines = (s: string): Record<string, unknown>[] =>
    s
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const a = lines(alone.stdout);
  const b = lines(batch.stdout);
  assert.equal(a.length, images.length + 1);
  const ok = (rows: Record<string, unknown>[]) => rows.filter((r) => r.captions !== undefined);
  assert.equal(ok(a).length, images.length);
  assert.deepEqual(
    ok(b).sort((x, y) => String(x.image).localeCompare(String(y.image))),
    ok(a).sort((x, y) => String(x.image).localeCompare(String(y.image))),
  );
  assert.ok(b.some((r) => r.image === missing && typeof r.error === 'string'));
});
