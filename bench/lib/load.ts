/** Load generation: a closed-loop in-process client for the slow (inference) workloads, autocannon for the cache-hit path. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import type { CaptionAnswer, HttpRequestSpec, System } from './systems';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest-rank on the sorted sample.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export interface ClosedLoopResult {
  concurrency: number;
  requests: number;
  ok: number;
  errors: number;
  cached: number;
  wall_s: number;
  captions_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
  first_error?: string;
  answers: CaptionAnswer[];
}

/**
 * `count` requests, `concurrency` in flight at any time; `makeImage(i)` gives request i's upload.
 * Captions per second = successful uncached answers / wall time.
 */
export async function closedLoop(
  system: System,
  count: number,
  concurrency: number,
  makeImage: (i: number) => Buffer,
  numCaptions?: number,
): Promise<ClosedLoopResult> {
  const answers: CaptionAnswer[] = new Array<CaptionAnswer>(count);
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      answers[i] = await system.caption(makeImage(i), numCaptions);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  const wall = (performance.now() - started) / 1000;
  const ok = answers.filter((a) => a.status === 200);
  const latencies = ok.map((a) => a.ms).sort((a, b) => a - b);
  const fresh = ok.filter((a) => !a.cached).length;
  return {
    concurrency,
    requests: count,
    ok: ok.length,
    errors: count - ok.length,
    cached: ok.length - fresh,
    wall_s: wall,
    captions_per_s: fresh / wall,
    p50_ms: percentile(latencies, 50),
    p95_ms: percentile(latencies, 95),
    p99_ms: percentile(latencies, 99),
    mean_ms: latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length),
    first_error: answers.find((a) => a.status !== 200)?.error,
    answers,
  };
}

export interface AutocannonSummary {
  connections: number;
  duration_s: number;
  /** 2xx answers; rps counts only those. */
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** `rate`: open loop at that many requests per second in all (autocannon's overallRate); else closed loop. */
export async function cannon(
  spec: HttpRequestSpec,
  connections: number,
  durationS: number,
  rate?: number,
): Promise<AutocannonSummary> {
  const result = await autocannon({
    ...(rate !== undefined ? { overallRate: rate } : {}),
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections,
    duration: durationS,
    pipelining: 1,
    timeout: 30,
  });
  return {
    connections,
    duration_s: result.duration,
    requests: result['2xx'],
    rps: result['2xx'] / result.duration,
    p50_ms: result.latency.p50,
    p90_ms: result.latency.p90,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

export interface OpenLoopSummary {
  offered_rps: number;
  duration_s: number;
  requests: number;
  ok: number;
  errors: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /**
   * The load generator's own event-loop delay during the run: a request due while the generator was
   * stalled is sent late and its latency, counted from the due time, includes the stall.
   */
  generator_lag_p99_ms: number;
  generator_lag_max_ms: number;
  /** Rounds pooled into this summary (the benchmark interleaves systems round by round). */
  rounds?: number;
  /** Each pooled round's own p99 and generator lag (max), in round order: shows whether one round decided. */
  round_p99_ms?: number[];
  round_generator_lag_max_ms?: number[];
  /** Seconds of unmeasured load before each round, and the p99 of those warm-ups pooled. */
  warmup_s?: number;
  warmup_p99_ms?: number;
}

/** Percentiles of pooled open-loop runs (each run's latencies), with the worst generator lag. */
export function poolOpenLoop(runs: (OpenLoopSummary & { latencies: number[] })[]): OpenLoopSummary {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    offered_rps: runs[0]?.offered_rps ?? NaN,
    duration_s: runs.reduce((s, r) => s + r.duration_s, 0),
    requests: runs.reduce((s, r) => s + r.requests, 0),
    ok: latencies.length,
    errors: runs.reduce((s, r) => s + r.errors, 0),
    p50_ms: percentile(latencies, 50),
    p90_ms: percentile(latencies, 90),
    p99_ms: percentile(latencies, 99),
    max_ms: latencies.at(-1) ?? NaN,
    generator_lag_p99_ms: Math.max(...runs.map((r) => r.generator_lag_p99_ms)),
    generator_lag_max_ms: Math.max(...runs.map((r) => r.generator_lag_max_ms)),
    rounds: runs.length,
    round_p99_ms: runs.map((r) => r.p99_ms),
    round_generator_lag_max_ms: runs.map((r) => r.generator_lag_max_ms),
  };
}

/**
 * Open loop with evenly spaced arrivals: request i is due at i / rate seconds and is sent then whatever
 * is still in flight, and its latency counts from that due time (no coordinated omission).
 * autocannon's overallRate fires every connection at once on each tick, bursts of 100 that measure
 * the burst's queue rather than the service.
 */
export async function openLoop(
  spec: HttpRequestSpec,
  rate: number,
  durationS: number,
  /** Called per successful answer with its due time (epoch ms) and latency (ms). */
  onSample?: (dueEpochMs: number, ms: number) => void,
): Promise<OpenLoopSummary & { latencies: number[] }> {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const agent = new Agent({ connections: 256, keepAliveTimeout: 2000, keepAliveMaxTimeout: 2000 });
  const total = Math.max(1, Math.floor(rate * durationS));
  const latencies: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      request(spec.url, { method: spec.method, headers: spec.headers, body: spec.body, dispatcher: agent })
        .then(async (res) => {
          await res.body.text();
          if (res.statusCode >= 200 && res.statusCode < 300) {
            const ms = performance.now() - due;
            latencies.push(ms);
            onSample?.(performance.timeOrigin + due, ms);
          } else errors++;
        })
        .catch(() => {
          errors++;
        }),
    );
  }
  await Promise.all(inFlight);
  const wall = (performance.now() - t0) / 1000;
  lag.disable();
  await agent.close();
  latencies.sort((a, b) => a - b);
  return {
    offered_rps: rate,
    duration_s: wall,
    requests: total,
    ok: latencies.length,
    errors,
    p50_ms: percentile(latencies, 50),
    p90_ms: percentile(latencies, 90),
    p99_ms: percentile(latencies, 99),
    max_ms: latencies.at(-1) ?? NaN,
    generator_lag_p99_ms: lag.percentile(99) / 1e6,
    generator_lag_max_ms: lag.max / 1e6,
    latencies,
  };
}
