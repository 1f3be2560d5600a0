/**
 * Issue 6, fault 5: a queue Redis whose maxmemory-policy is not noeviction (it would evict BullMQ's keys
 * and lose jobs). Start-up logs an error saying so (REDIS_EVICTION_POLICY_CHECK=warn, the default) or
 * refuses to start (=refuse), in the API and in the worker; a noeviction Redis gives no such line, and a
 * Redis that only comes up later is checked when it does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths';
import { freePort } from '../helpers/redis';
import { waitFor } from '../helpers/time';
import { api, figure, queueEnv, stopAll, TestRedis, worker } from './support/stack';

let evicting: TestRedis;
let proper: TestRedis;

before(async () => {
  [evicting, proper] = await Promise.all([
    TestRedis.start(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']),
    TestRedis.start(),
  ]);
});

after(async () => {
  await stopAll(evicting, proper);
});

const WARNING = /maxmemory-policy "allkeys-lru".*noeviction/;

/** The warnings in a process' JSON logs: error level (pino 50) or above, naming the policy. */
function warnings(logs: string): string[] {
  return logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg?: string })
    .filter((l) => l.level >= 50 && WARNING.test(l.msg ?? ''))
    .map((l) => l.msg ?? '');
}

/** Runs dist/<file> until it exits (it must, within the deadline): exit code and output. */
function runToExit(
  file: string,
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [join(repoRoot, 'dist', file)], {
    cwd: repoRoot,
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    }),
  );
}

test(
  '5. an evicting queue Redis: the API and the worker warn loudly by default and refuse with the setting',
  { timeout: 240_000 },
  async () => {
    const warnEnv = await queueEnv(evicting.url);
    const refuseEnv = { ...warnEnv, REDIS_EVICTION_POLICY_CHECK: 'refuse', PORT: String(await freePort()) };
    const [apiWarn, workerWarn, apiRefused, workerRefused, apiProper] = await Promise.all([
      api(warnEnv),
      worker(warnEnv),
      runToExit('main.js', refuseEnv),
      runToExit('worker.js', { ...refuseEnv, WORKER_HEALTH_PORT: String(await freePort()) }),
      api(await queueEnv(proper.url)),
    ]);
    assert.equal(warnings(apiWarn.logs).length, 1, `API: ${apiWarn.tail()}`);
    assert.equal(warnings(workerWarn.logs).length, 1, `worker: ${workerWarn.tail()}`);
    assert.equal((await fetch(`${apiWarn.url}/health/ready`)).status, 200, 'warn mode still serves');
    for (const [name, run] of [
      ['API', apiRefused],
      ['worker', workerRefused],
    ] as const) {
      assert.equal(run.code, 1, `${name} with refuse: ${run.output.slice(-2000)}`);
      assert.match(run.output, /REDIS_EVICTION_POLICY_CHECK=refuse/, name);
      assert.match(run.output, WARNING, name);
    }
    assert.doesNotMatch(apiRefused.output, /API listening/);
    assert.doesNotMatch(workerRefused.output, /consuming queue/);
    assert.equal(warnings(apiProper.logs).length, 0, 'a warning with a noeviction Redis');
    assert.doesNotMatch(apiProper.logs, /maxmemory-policy/);
    figure(
      `eviction policy: allkeys-lru -> one error-level warning in the API and in the worker (warn), exit 1 naming the variable (refuse: API in ${(apiRefused.ms / 1000).toFixed(1)} s, worker in ${(workerRefused.ms / 1000).toFixed(1)} s); noeviction -> no warning`,
    );
  },
);

test(
  '5. a queue Redis that is down at start-up is checked when it comes up',
  { timeout: 120_000 },
  async () => {
    const late = await TestRedis.start(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
    try {
      await late.kill();
      const apiProc = await api(await queueEnv(late.url), false);
      assert.match(apiProc.logs, /does not answer: its maxmemory-policy is checked once it does/);
      await late.restart();
      const started = Date.now();
      await waitFor(
        'the deferred warning',
        () => (warnings(apiProc.logs).length === 1 ? true : undefined),
        30_000,
        200,
      );
      figure(
        `eviction policy: a queue Redis that came up late was checked ${((Date.now() - started) / 1000).toFixed(1)} s after it did`,
      );
    } finally {
      await late.destroy();
    }
  },
);
