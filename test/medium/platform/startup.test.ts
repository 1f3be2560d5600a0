/** The built API process refuses bad settings: exit code 1 and the variable named on stderr, secrets hidden. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../../helpers/paths';

const MAIN = join(repoRoot, 'dist', 'main.js');

function run(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  assert.ok(existsSync(MAIN), `${MAIN} is missing: run \`npm run build\` first`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', JWT_SECRET: 'startup-test-secret-0123456789-abcdefgh', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

test('a bad PORT stops the process with exit code 1, naming PORT and its value', async () => {
  const { code, stderr } = await run({ PORT: 'eighty' });
  assert.equal(code, 1);
  assert.match(stderr, /PORT="eighty"/);
  assert.match(stderr, /Invalid settings/);
});

test('every bad platform variable is named at once', async () => {
  const { code, stderr } = await run({ PORT: '99999', RATE_LIMIT_LIMIT: '0', LOG_LEVEL: 'chatty' });
  assert.equal(code, 1);
  for (const name of ['PORT', 'RATE_LIMIT_LIMIT', 'LOG_LEVEL']) assert.match(stderr, new RegExp(name));
});

test('a short JWT_SECRET is named, its value never printed', async () => {
  const { code, stdout, stderr } = await run({ JWT_SECRET: 'tiny-secret-value' });
  assert.equal(code, 1);
  assert.match(stderr, /JWT_SECRET=\(set, value hidden\)/);
  assert.doesNotMatch(stdout + stderr, /tiny-secret-value/);
});

test('no key at all names the three ways to configure one', async () => {
  const { code, stderr } = await run({ JWT_SECRET: '' });
  assert.equal(code, 1);
  assert.match(stderr, /exactly one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL/);
});
