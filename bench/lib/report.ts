/** The benchmark's JSON result, its ratios against the reference, the targets of issue 5 and the markdown table. */
import type { AutocannonSummary, ClosedLoopResult, OpenLoopSummary } from './load';

export type LoopSummary = Omit<ClosedLoopResult, 'answers'>;

/** Model calls and images during a workload (ours: batches; the reference: one generate per image). */
export interface Batching {
  model_calls: number;
  images_inferred: number;
  mean_batch: number;
}

export interface BurstSummary {
  requests: number;
  ok: number;
  errors: number;
  cached_answers: number;
  distinct_captions: number;
  /** Images the model captioned during the burst (ours: captioner_batch_size_sum; reference: generate calls). */
  inferences: number;
  /** Model calls (ours: batches). */
  model_calls: number;
  p50_ms: number;
  p99_ms: number;
  first_error?: string;
}

export interface ProcessResources {
  pid: number;
  cpu_s_total: number;
  peak_rss_mb: number;
  rss_mb: number;
}

export interface SystemResult {
  id: string;
  kind: 'reference' | 'queue' | 'embedded';
  variant: 'fp32' | 'int8';
  workloads: {
    miss_c1?: LoopSummary & Batching & { cpu_s: number };
    miss_c4?: LoopSummary & Batching & { cpu_s: number };
    miss_c8?: LoopSummary & Batching & { cpu_s: number };
    beam3_c1?: LoopSummary & Batching;
    cache_hit_c100?: AutocannonSummary & { cpu_s: number };
    /**
     * The same cache hit at a fixed offered rate (open loop, evenly spaced arrivals): half the
     * reference's closed-loop req/s, the same for every system, so latency is measured below saturation.
     */
    cache_hit_rate?: OpenLoopSummary;
    burst50?: BurstSummary;
    /** Optional: cache-hit latency (4 loops) while c=1 cache misses run. */
    hit_during_miss?: {
      hits: number;
      hit_p50_ms: number;
      hit_p99_ms: number;
      hit_max_ms: number;
      miss_p50_ms: number;
    };
  };
  /** First caption seen per photo (file name) in the cache-miss workloads. */
  captions: Record<string, string>;
  caption_wordpieces_mean?: number;
  resources?: { cpu_s_per_caption: number; captions: number; processes: Record<string, ProcessResources> };
  reference_stats?: Record<string, number | string>;
}

export interface Ratios {
  miss_c1_p50_speedup: number;
  miss_c1_p95_speedup: number;
  miss_c1_p99_speedup: number;
  miss_c1_cps: number;
  miss_c4_cps: number;
  miss_c8_cps: number;
  beam3_p50_speedup: number;
  /** Ours: beam-3 p50 / greedy p50 at concurrency 1 (the reference's own figure is in `reference_beam3_over_greedy`). */
  beam3_over_greedy: number;
  reference_beam3_over_greedy: number;
  cache_hit_rps: number;
  cache_hit_p99_speedup: number;
  /** Reference CPU-seconds per caption / ours. */
  cpu_per_caption_saving: number;
}

export interface Target {
  target: string;
  system: string;
  measured: number;
  threshold: number;
  better: 'higher' | 'lower' | 'equal';
  unit: string;
  met: boolean;
  /** How far from the threshold, in words, when missed. */
  missed_by?: string;
}

export interface BenchResult {
  schema: 1;
  date: string;
  finished: string;
  plan: Record<string, number | string>;
  host: {
    cpus: number;
    cpu_model: string;
    /** CPU kind (avx512-vnni, avx-vnni, avx2) and the relevant flags (bench/lib/cpu.ts). */
    cpu_kind: string;
    cpu_flags: string[];
    node: string;
    load_before: [number, number, number];
    load_after: [number, number, number];
    load_per_workload: Record<string, [number, number, number]>;
  };
  commit: string;
  bundle: {
    path: string;
    version: string;
    exporter_version?: string;
    source: { id: string; revision: string };
  };
  gemm: Record<
    'all_threads' | 'one_thread',
    { n: number; threads: number; gflops: number; best_ms: number; copy_gb_s: number }
  >;
  /** A rough hardware floor from the GEMM rate and copy bandwidth (see hardwareFloor in bench.ts). */
  floor: {
    encoder_gflop_per_image: number;
    decoder_gflop_per_token: number;
    decoder_weight_mb_per_step: { fp32: number; int8: number };
    encoder_ms_per_image: number;
    decoder_step_ms: { fp32_batch1: number; fp32_batch8: number; int8_batch1: number };
    fp32_caption_ms_c1: number;
    fp32_captions_per_s_c8: number;
  };
  systems: Record<string, SystemResult>;
  ratios: Record<string, Ratios>;
  agreement: Record<string, { photos: number; identical_to_reference: number }>;
  /** int8 graphs against fp32 on the benchmark photos (bench/lib/int8-agreement.ts). */
  int8_agreement?: {
    photos: number;
    captions_identical: number;
    ids_equal: number;
    ids_total: number;
    mean_logit_cosine: number;
    batch_invariant: number;
    batch_max_confidence_diff: number;
  };
  targets: Target[];
}

const div = (a: number | undefined, b: number | undefined): number =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? NaN : a / b;

function check(
  target: string,
  system: string,
  measured: number,
  threshold: number,
  better: Target['better'],
  unit: string,
): Target {
  const met =
    Number.isFinite(measured) &&
    (better === 'higher'
      ? measured >= threshold
      : better === 'lower'
        ? measured <= threshold
        : measured === threshold);
  const t: Target = { target, system, measured, threshold, better, unit, met };
  if (!met) {
    if (!Number.isFinite(measured)) t.missed_by = 'not measured';
    else if (better === 'higher')
      t.missed_by = `${(((threshold - measured) / threshold) * 100).toFixed(0)}% short (needs ${(threshold / measured).toFixed(2)}x more)`;
    else if (better === 'lower')
      t.missed_by = `${(((measured - threshold) / threshold) * 100).toFixed(0)}% over`;
    else t.missed_by = `${measured} instead of ${threshold}`;
  }
  return t;
}

/** Fills `ratios`, `agreement` and `targets` from `systems`. */
export function evaluateTargets(result: BenchResult): void {
  const ref = result.systems.reference;
  const ours = Object.values(result.systems).filter((s) => s.kind !== 'reference');
  for (const s of ours) {
    const w = s.workloads;
    const rw = ref?.workloads;
    result.ratios[s.id] = {
      miss_c1_p50_speedup: div(rw?.miss_c1?.p50_ms, w.miss_c1?.p50_ms),
      miss_c1_p95_speedup: div(rw?.miss_c1?.p95_ms, w.miss_c1?.p95_ms),
      miss_c1_p99_speedup: div(rw?.miss_c1?.p99_ms, w.miss_c1?.p99_ms),
      miss_c1_cps: div(w.miss_c1?.captions_per_s, rw?.miss_c1?.captions_per_s),
      miss_c4_cps: div(w.miss_c4?.captions_per_s, rw?.miss_c4?.captions_per_s),
      miss_c8_cps: div(w.miss_c8?.captions_per_s, rw?.miss_c8?.captions_per_s),
      beam3_p50_speedup: div(rw?.beam3_c1?.p50_ms, w.beam3_c1?.p50_ms),
      beam3_over_greedy: div(w.beam3_c1?.p50_ms, w.miss_c1?.p50_ms),
      reference_beam3_over_greedy: div(rw?.beam3_c1?.p50_ms, rw?.miss_c1?.p50_ms),
      cache_hit_rps: div(w.cache_hit_c100?.rps, rw?.cache_hit_c100?.rps),
      cache_hit_p99_speedup: div(rw?.cache_hit_c100?.p99_ms, w.cache_hit_c100?.p99_ms),
      cpu_per_caption_saving: div(ref?.resources?.cpu_s_per_caption, s.resources?.cpu_s_per_caption),
    };
    if (ref !== undefined) {
      const common = Object.keys(s.captions).filter((p) => ref.captions[p] !== undefined);
      result.agreement[s.id] = {
        photos: common.length,
        identical_to_reference: common.filter((p) => s.captions[p] === ref.captions[p]).length,
      };
    }
    const r = result.ratios[s.id];
    const fast = s.variant === 'int8' ? { latency: 4, throughput: 5 } : { latency: 2, throughput: 2.5 };
    const t = result.targets;
    t.push(
      check(
        `cache-miss p50 latency at c=1, x faster than the reference (${s.variant}: >= ${fast.latency}x)`,
        s.id,
        r.miss_c1_p50_speedup,
        fast.latency,
        'higher',
        'x',
      ),
    );
    t.push(
      check(
        `captions/s at c=8, x the reference (${s.variant}: >= ${fast.throughput}x)`,
        s.id,
        r.miss_c8_cps,
        fast.throughput,
        'higher',
        'x',
      ),
    );
    t.push(
      check('beam search, 3 beams: p50 / greedy p50 <= 1.6', s.id, r.beam3_over_greedy, 1.6, 'lower', 'x'),
    );
    t.push(
      check(
        "cache hit at 100 connections: req/s >= 3x the reference's",
        s.id,
        r.cache_hit_rps,
        3,
        'higher',
        'x',
      ),
    );
    t.push(
      check(
        'cache hit at 100 connections: p99 <= 5 ms',
        s.id,
        w.cache_hit_c100?.p99_ms ?? NaN,
        5,
        'lower',
        'ms',
      ),
    );
    t.push(
      check(
        'burst of 50 identical uploads: exactly 1 inference',
        s.id,
        w.burst50?.inferences ?? NaN,
        1,
        'equal',
        'inferences',
      ),
    );
    if (s.kind === 'queue') {
      t.push(
        check(
          'API process peak RSS under load < 300 MB (queue mode)',
          s.id,
          s.resources?.processes.api?.peak_rss_mb ?? NaN,
          300,
          'lower',
          'MB',
        ),
      );
    }
  }
}

const f = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x) ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(digits);

export function renderMarkdown(r: BenchResult): string {
  const ids = Object.keys(r.systems);
  const ours = ids.filter((id) => r.systems[id].kind !== 'reference');
  const row = (label: string, get: (s: SystemResult) => string): string =>
    `| ${label} | ${ids.map((id) => get(r.systems[id])).join(' | ')} |`;
  const ratioRow = (label: string, get: (x: Ratios) => number): string =>
    `| ${label} | ${ours.map((id) => `${f(get(r.ratios[id]), 2)}x`).join(' | ')} |`;
  const h = r.host;
  const lines: string[] = [
    `### \`npm run bench${r.plan.mode === 'full' ? '' : ` -- --${r.plan.mode}`}\`, ${r.date.slice(0, 16).replace('T', ' ')} UTC, commit ${r.commit}`,
    '',
    `${h.cpus} cores (${h.cpu_model}, ${h.cpu_kind ?? 'cpu kind not recorded'}), Node ${h.node}; load average ${h.load_before.join(' / ')} before, ${h.load_after.join(' / ')} after. ` +
      `fp32 GEMM (numpy/OpenBLAS, 1024³): ${f(r.gemm.all_threads.gflops)} GFLOP/s on ${r.gemm.all_threads.threads} threads, ${f(r.gemm.one_thread.gflops)} on 1; ` +
      `copy bandwidth ${f(r.gemm.all_threads.copy_gb_s)} GB/s. ` +
      `Bundle ${r.bundle.source.revision} (version ${r.bundle.version}); no prompt, greedy unless stated, captions as generated (up to 20 new tokens).`,
    '',
    `| workload | ${ids.join(' | ')} |`,
    `| --- | ${ids.map(() => '---:').join(' | ')} |`,
    row(
      'cache miss c=1: p50 / p95 / p99 ms',
      (s) =>
        `${f(s.workloads.miss_c1?.p50_ms, 0)} / ${f(s.workloads.miss_c1?.p95_ms, 0)} / ${f(s.workloads.miss_c1?.p99_ms, 0)}`,
    ),
    row('captions/s at c=1', (s) => f(s.workloads.miss_c1?.captions_per_s, 2)),
    row('captions/s at c=4', (s) => f(s.workloads.miss_c4?.captions_per_s, 2)),
    row('captions/s at c=8', (s) => f(s.workloads.miss_c8?.captions_per_s, 2)),
    row(
      'mean batch at c=4 / c=8 (images per model call)',
      (s) => `${f(s.workloads.miss_c4?.mean_batch, 2)} / ${f(s.workloads.miss_c8?.mean_batch, 2)}`,
    ),
    row('beam 3, 3 captions, c=1: p50 ms', (s) => f(s.workloads.beam3_c1?.p50_ms, 0)),
    row('cache hit, 100 conns: req/s', (s) => f(s.workloads.cache_hit_c100?.rps, 0)),
    row(
      'cache hit, 100 conns: p50 / p99 ms',
      (s) => `${f(s.workloads.cache_hit_c100?.p50_ms)} / ${f(s.workloads.cache_hit_c100?.p99_ms)}`,
    ),
    row(
      'cache hit, open loop at half the reference req/s: offered / p50 / p99 ms (generator lag max)',
      (s) =>
        s.workloads.cache_hit_rate
          ? `${f(s.workloads.cache_hit_rate.offered_rps, 0)}/s: ${f(s.workloads.cache_hit_rate.p50_ms)} / ${f(s.workloads.cache_hit_rate.p99_ms)} (${f(s.workloads.cache_hit_rate.generator_lag_max_ms)})`
          : '-',
    ),
    row('burst of 50 identical: inferences', (s) =>
      s.workloads.burst50 ? `${s.workloads.burst50.inferences} (${s.workloads.burst50.ok}/50 ok)` : '-',
    ),
    ...(Object.values(r.systems).some((s) => s.workloads.hit_during_miss !== undefined)
      ? [
          row('cache hit during misses: p50 / p99 / max ms', (s) =>
            s.workloads.hit_during_miss
              ? `${f(s.workloads.hit_during_miss.hit_p50_ms)} / ${f(s.workloads.hit_during_miss.hit_p99_ms)} / ${f(s.workloads.hit_during_miss.hit_max_ms)}`
              : '-',
          ),
        ]
      : []),
    row('CPU-seconds per caption (cache miss)', (s) => f(s.resources?.cpu_s_per_caption, 2)),
    row('peak RSS MB per process', (s) =>
      Object.entries(s.resources?.processes ?? {})
        .map(([role, p]) => `${role} ${f(p.peak_rss_mb, 0)}`)
        .join(', '),
    ),
    row('caption wordpieces (mean)', (s) => f(s.caption_wordpieces_mean, 1)),
    row('errors (all workloads)', (s) =>
      String(
        (s.workloads.miss_c1?.errors ?? 0) +
          (s.workloads.miss_c4?.errors ?? 0) +
          (s.workloads.miss_c8?.errors ?? 0) +
          (s.workloads.beam3_c1?.errors ?? 0) +
          (s.workloads.cache_hit_c100?.non2xx ?? 0) +
          (s.workloads.cache_hit_c100?.errors ?? 0) +
          (s.workloads.burst50?.errors ?? 0),
      ),
    ),
    '',
  ];
  if (ours.length > 0 && r.systems.reference !== undefined) {
    lines.push(
      `| ours / reference (same run) | ${ours.join(' | ')} |`,
      `| --- | ${ours.map(() => '---:').join(' | ')} |`,
      ratioRow('cache-miss latency p50, x faster', (x) => x.miss_c1_p50_speedup),
      ratioRow('cache-miss latency p99, x faster', (x) => x.miss_c1_p99_speedup),
      ratioRow('captions/s at c=1', (x) => x.miss_c1_cps),
      ratioRow('captions/s at c=4', (x) => x.miss_c4_cps),
      ratioRow('captions/s at c=8', (x) => x.miss_c8_cps),
      ratioRow('beam 3 latency p50, x faster', (x) => x.beam3_p50_speedup),
      ratioRow('beam 3 / greedy (reference: see JSON)', (x) => x.beam3_over_greedy),
      ratioRow('cache-hit req/s', (x) => x.cache_hit_rps),
      ratioRow('CPU-seconds per caption, x less', (x) => x.cpu_per_caption_saving),
      `| captions identical to the reference | ${ours.map((id) => (r.agreement[id] ? `${r.agreement[id].identical_to_reference}/${r.agreement[id].photos}` : '-')).join(' | ')} |`,
      '',
    );
  }
  const q = r.int8_agreement;
  if (q !== undefined) {
    lines.push(
      `int8 against fp32 on ${q.photos} of the benchmark photos (same bundle, in process): ${q.captions_identical}/${q.photos} greedy captions identical, ` +
        `${q.ids_equal}/${q.ids_total} generated ids equal position by position, mean logit cosine ${f(q.mean_logit_cosine, 4)} (int8 fed fp32's caption). ` +
        `Batch invariance: ${q.batch_invariant}/${q.photos} photos with identical ids and confidence alone and in two batches of all of them (largest confidence difference ${q.batch_max_confidence_diff.toExponential(1)}). ` +
        'Random weights have tiny top-2 gaps, so this says little about captions of the real model.',
      '',
    );
  }
  const fl = r.floor;
  const fp32 = r.systems['queue-fp32'] ?? r.systems['embedded-fp32'];
  const contended = Math.max(...h.load_before, ...h.load_after) > h.cpus;
  lines.push(
    (contended
      ? `**Not meaningful for this run** (load above ${h.cpus}: the GEMM rate and bandwidth were measured under contention): `
      : '') +
      `Hardware floor (rough, from the two figures above): encoder ${f(fl.encoder_gflop_per_image)} GFLOP/image = ${f(fl.encoder_ms_per_image, 0)} ms; ` +
      `decoder step ${f(fl.decoder_weight_mb_per_step.fp32, 0)} MB of fp32 weights = ${f(fl.decoder_step_ms.fp32_batch1)} ms at batch 1 ` +
      `(int8: ${f(fl.decoder_weight_mb_per_step.int8, 0)} MB, ${f(fl.decoder_step_ms.int8_batch1)} ms); a 20-token fp32 caption ≥ ${f(fl.fp32_caption_ms_c1, 0)} ms at c=1, ` +
      `≤ ${f(fl.fp32_captions_per_s_c8, 2)} captions/s at batch 8.` +
      (fp32?.workloads.miss_c1 !== undefined
        ? ` ${fp32.id}: ${f(fp32.workloads.miss_c1.p50_ms / fl.fp32_caption_ms_c1, 2)}x the latency floor, ` +
          `${f((fp32.workloads.miss_c8?.captions_per_s ?? NaN) / fl.fp32_captions_per_s_c8, 2)} of the c=8 throughput ceiling.`
        : ''),
    '',
  );
  lines.push('| target | system | measured | result |', '| --- | --- | ---: | --- |');
  for (const t of r.targets) {
    lines.push(
      `| ${t.target} | ${t.system} | ${f(t.measured, 2)} ${t.unit} | ${t.met ? 'met' : `**missed**: ${t.missed_by ?? ''}`} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
