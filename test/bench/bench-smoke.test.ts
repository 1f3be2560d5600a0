/**
 * Smoke test of the benchmark harness (`npm run bench`) on the tiny bundle: every system starts (the
 * reference backend, our queue mode at fp32 and int8, embedded mode), every workload runs once with tiny
 * counts, and the JSON result has every field. It asserts no timing: CI only proves the harness works.
 * Needs dist/ (npm test builds it), redis-server on PATH and Python 3.10+ (the reference venv is created
 * by scripts/bench-setup.sh on first use).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchResult, SystemResult } from '../../bench/lib/report';

const root = resolve(__dirname, '..', '..', '..');
const bundle = process.env.TEST_MODEL_PATH ?? join(root, 'models', 'test-tiny');
const SYSTEMS = ['reference', 'queue-fp32', 'queue-int8', 'embedded-fp32'];
const TIMEOUT_MS = 8 * 60_000;

function runHarness(out: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(
      process.execPath,
      [
        join(root, 'build', 'bench', 'bench.js'),
        '--smoke',
        '--bundle',
        bundle,
        '--json-out',
        out,
        '--no-docs',
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stderr });
    });
  });
}

const finite = (x: unknown, what: string): void => {
  assert.equal(typeof x, 'number', `${what} is a number`);
  assert.ok(Number.isFinite(x), `${what} is finite (got ${String(x)})`);
};

test(
  'npm run bench -- --smoke: both systems start, every workload runs, the JSON has every field',
  { timeout: TIMEOUT_MS + 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    try {
      const out = join(dir, 'result.json');
      const { code, stderr } = await runHarness(out);
      assert.equal(code, 0, `harness failed:\n${stderr.slice(-4000)}`);
      const r = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;

      assert.equal(r.schema, 1);
      assert.equal(r.plan.mode, 'smoke');
      for (const key of ['date', 'finished', 'commit'] as const) assert.equal(typeof r[key], 'string', key);
      finite(r.host.cpus, 'host.cpus');
      assert.equal(r.host.load_before.length, 3);
      assert.equal(r.host.load_after.length, 3);
      finite(r.gemm.all_threads.gflops, 'gemm all threads');
      finite(r.gemm.one_thread.gflops, 'gemm one thread');
      finite(r.gemm.all_threads.copy_gb_s, 'copy bandwidth');
      for (const [k, v] of Object.entries(r.floor)) {
        if (typeof v === 'number') finite(v, `floor.${k}`);
        else for (const [k2, v2] of Object.entries(v)) finite(v2, `floor.${k}.${k2}`);
      }
      assert.equal(typeof r.bundle.version, 'string');
      assert.deepEqual(Object.keys(r.systems).sort(), [...SYSTEMS].sort());
      assert.ok(r.int8_agreement, 'int8 agreement measured');
      assert.ok(r.int8_agreement.photos > 0, 'int8 agreement over at least one photo');
      finite(r.int8_agreement.mean_logit_cosine, 'int8 mean logit cosine');
      assert.equal(
        r.int8_agreement.batch_invariant,
        r.int8_agreement.photos,
        'int8 batch invariant for every photo (issue 11)',
      );
      assert.equal(r.int8_agreement.batch_max_confidence_diff, 0);
      assert.ok(['avx512-vnni', 'avx-vnni', 'avx2', 'other'].includes(r.host.cpu_kind), 'cpu kind');
      assert.ok(Array.isArray(r.host.cpu_flags), 'cpu flags');

      for (const id of SYSTEMS) {
        const s: SystemResult = r.systems[id];
        const w = s.workloads;
        for (const key of ['miss_c1', 'miss_c4', 'miss_c8'] as const) {
          const loop = w[key];
          assert.ok(loop, `${id}.${key}`);
          assert.equal(loop.errors, 0, `${id}.${key} errors: ${loop.first_error ?? ''}`);
          assert.equal(loop.cached, 0, `${id}.${key}: every upload is new`);
          for (const f of [
            'p50_ms',
            'p95_ms',
            'p99_ms',
            'mean_ms',
            'captions_per_s',
            'wall_s',
            'cpu_s',
          ] as const) {
            finite(loop[f], `${id}.${key}.${f}`);
          }
        }
        assert.ok(w.beam3_c1, `${id}.beam3_c1`);
        assert.equal(w.beam3_c1.errors, 0, `${id}.beam3_c1 errors: ${w.beam3_c1.first_error ?? ''}`);
        finite(w.beam3_c1.p50_ms, `${id}.beam3_c1.p50_ms`);
        const hit = w.cache_hit_c100;
        assert.ok(hit, `${id}.cache_hit_c100`);
        assert.equal(hit.connections, 100);
        assert.ok(hit.requests > 0, `${id}: cache hits answered`);
        for (const f of ['rps', 'p50_ms', 'p99_ms', 'cpu_s'] as const)
          finite(hit[f], `${id}.cache_hit_c100.${f}`);
        const atRate = w.cache_hit_rate;
        assert.ok(atRate, `${id}.cache_hit_rate`);
        assert.ok(atRate.ok > 0, `${id}: cache hits answered at the offered rate`);
        for (const f of ['offered_rps', 'p50_ms', 'p99_ms', 'generator_lag_max_ms'] as const)
          finite(atRate[f], `${id}.cache_hit_rate.${f}`);
        const burst = w.burst50;
        assert.ok(burst, `${id}.burst50`);
        assert.equal(burst.ok, 50, `${id}.burst50: every upload answered (${burst.first_error ?? ''})`);
        assert.equal(burst.distinct_captions, 1, `${id}.burst50: one caption for one image`);
        finite(burst.inferences, `${id}.burst50.inferences`);
        assert.ok(s.resources, `${id}.resources`);
        finite(s.resources.cpu_s_per_caption, `${id}.cpu_s_per_caption`);
        const roles = Object.keys(s.resources.processes).sort();
        assert.deepEqual(
          roles,
          s.kind === 'queue' ? ['api', 'worker'] : s.kind === 'embedded' ? ['api'] : ['server'],
        );
        for (const p of Object.values(s.resources.processes)) finite(p.peak_rss_mb, `${id} peak RSS`);
        assert.ok(Object.keys(s.captions).length > 0, `${id}: captions recorded`);
      }
      assert.equal(
        Number(r.systems.reference.reference_stats?.inferences) > 0,
        true,
        'the reference counts inferences',
      );

      for (const id of SYSTEMS.filter((s) => s !== 'reference')) {
        const ratios = r.ratios[id];
        assert.ok(ratios, `ratios.${id}`);
        for (const [k, v] of Object.entries(ratios)) finite(v, `ratios.${id}.${k}`);
        assert.ok(r.agreement[id].photos > 0, `agreement.${id}`);
      }
      // 6 targets per system of ours, plus the API RSS one per queue-mode system.
      assert.equal(r.targets.length, 3 * 6 + 2);
      for (const t of r.targets) {
        assert.equal(typeof t.met, 'boolean');
        assert.equal(typeof t.target, 'string');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
