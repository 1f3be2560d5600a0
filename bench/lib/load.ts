/** Load generation: a closed-loop in-process client for the slow (inference) workloads, autocannon for the cache-hit path. */
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
): Promise<OpenLoopSummary> {
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
          if (res.statusCode >= 200 && res.statusCode < 300) latencies.push(performance.now() - due);
          else errors++;
        })
        .catch(() => {
          errors++;
        }),
    );
  }
  await Promise.all(inFlight);
  const wall = (performance.now() - t0) / 1000;
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
  };
}
