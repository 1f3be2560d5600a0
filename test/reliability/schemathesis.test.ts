/**
 * Issue 12: the API fuzzed from its own OpenAPI document (/docs-json) with schemathesis, in both modes
 * (embedded, and queue mode with a worker and a private Redis): examples, coverage, fuzzing and
 * stateful phases (links inferred from Location headers). Checks: no 5xx (not_a_server_error), and
 * every 4xx is problem+json with its status (tools/fuzz/hooks.py). The venv is made by
 * `bash scripts/fuzz-setup.sh` (.ci/run does). SCHEMATHESIS_MAX_EXAMPLES (per operation and phase,
 * default 150) and SCHEMATHESIS_SEED replay or widen a run; both are printed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { repoRoot as ROOT } from '../helpers/paths';
import { baseEnv, type ServiceProcess } from '../helpers/processes';
import { token } from '../helpers/tokens';
import { api, apisAndWorker, figure, privateModel, queueEnv, stopAll, TestRedis } from './support/stack';

const ST = join(ROOT, 'tools', 'fuzz', '.venv', 'bin', 'st');
const MAX_EXAMPLES = Number(process.env.SCHEMATHESIS_MAX_EXAMPLES ?? 150);
const SEED = Number(process.env.SCHEMATHESIS_SEED ?? randomInt(1, 2 ** 31));
const UNLIMITED = { RATE_LIMIT_LIMIT: '1000000' };

let redis: TestRedis | undefined;
const reports = mkdtempSync(join(tmpdir(), 'captioner-schemathesis-'));

after(async () => {
  await stopAll(redis);
  rmSync(reports, { recursive: true, force: true });
});

interface Report {
  exit_code: number;
  running_time: number;
  test_cases: { generated: number; with_failures: number; errored: number };
  failures: unknown[];
  errors: unknown[];
  phases: Record<string, { status: string }>;
}

/** Runs schemathesis against one API; resolves with its JSON report and console output. */
async function schemathesis(
  server: ServiceProcess,
  mode: string,
): Promise<{ report: Report; output: string }> {
  assert.ok(existsSync(ST), `schemathesis is not installed: run \`bash scripts/fuzz-setup.sh\` (${ST})`);
  const bearer = await token({ sub: `fuzz-${mode}`, scope: 'caption:write caption:read' });
  const reportPath = join(reports, `${mode}.json`);
  const args = [
    'run',
    `${server.url}/docs-json`,
    '--header',
    `Authorization: Bearer ${bearer}`,
    '--checks',
    'not_a_server_error,problem_json_on_4xx',
    '--phases',
    'examples,coverage,fuzzing,stateful',
    '--max-examples',
    String(MAX_EXAMPLES),
    '--seed',
    String(SEED),
    '--workers',
    '2',
    '--request-timeout',
    '60',
    '--no-color',
    '--report',
    'json',
    '--report-json-path',
    reportPath,
  ];
  const child = spawn(ST, args, {
    cwd: reports,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SCHEMATHESIS_HOOKS: 'hooks',
      PYTHONPATH: join(ROOT, 'tools', 'fuzz'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.ok(existsSync(reportPath), `schemathesis wrote no report (exit ${code}):\n${output.slice(-4000)}`);
  return { report: JSON.parse(readFileSync(reportPath, 'utf8')) as Report, output };
}

function assertClean(mode: string, server: ServiceProcess, report: Report, output: string): void {
  figure(
    `schemathesis ${mode}: ${report.test_cases.generated} examples (seed ${SEED}, ${MAX_EXAMPLES} per operation and phase) in ${report.running_time.toFixed(0)} s: ${report.failures.length} failures, ${report.errors.length} errors; phases ${Object.entries(
      report.phases,
    )
      .map(([p, s]) => `${p} ${s.status}`)
      .join(', ')}`,
  );
  const tail = output.slice(-6000);
  assert.deepEqual(report.failures, [], `schemathesis found failures (seed ${SEED}):\n${tail}`);
  assert.deepEqual(report.errors, [], `schemathesis errors (seed ${SEED}):\n${tail}`);
  assert.equal(report.exit_code, 0, tail);
  assert.ok(report.test_cases.generated >= 100, `only ${report.test_cases.generated} examples`);
  assert.equal(report.phases.stateful?.status, 'success', 'the stateful phase did not run');
  assert.ok(server.running, `the ${mode} API died`);
}

test('schemathesis, embedded mode: no 5xx, every 4xx problem+json', { timeout: 900_000 }, async () => {
  const server = await api(baseEnv({ MODEL_PATH: await privateModel(), ...UNLIMITED }));
  const { report, output } = await schemathesis(server, 'embedded');
  assertClean('embedded', server, report, output);
});

test('schemathesis, queue mode: no 5xx, every 4xx problem+json', { timeout: 900_000 }, async () => {
  redis = await TestRedis.start();
  const { apis } = await apisAndWorker(await queueEnv(redis.url, UNLIMITED));
  const { report, output } = await schemathesis(apis[0], 'queue');
  assertClean('queue', apis[0], report, output);
});
