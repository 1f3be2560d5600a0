import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, poolOpenLoop, type OpenLoopSummary } from '../../../bench/lib/load';

function run(latencies: number[], lagMax: number): OpenLoopSummary & { latencies: number[] } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    offered_rps: 100,
    duration_s: 1,
    requests: latencies.length + 1,
    ok: latencies.length,
    errors: 1,
    p50_ms: percentile(sorted, 50),
    p90_ms: percentile(sorted, 90),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.at(-1) ?? NaN,
    generator_lag_p99_ms: lagMax / 2,
    generator_lag_max_ms: lagMax,
    latencies,
  };
}

describe('poolOpenLoop', () => {
  it('takes the percentiles of all rounds together, not an average of each round', () => {
    // One round with a bad moment and three quiet ones: the pooled p99 is the bad moment's.
    const quiet = Array.from({ length: 99 }, () => 1);
    const bad = [...Array.from({ length: 95 }, () => 1), 50, 60, 70, 80];
    const pooled = poolOpenLoop([run(quiet, 3), run(bad, 20), run(quiet, 4), run(quiet, 2)]);
    assert.equal(pooled.rounds, 4);
    assert.equal(pooled.ok, 99 * 3 + 99);
    assert.equal(pooled.requests, 100 * 4);
    assert.equal(pooled.errors, 4);
    assert.equal(pooled.duration_s, 4);
    assert.equal(pooled.p50_ms, 1);
    assert.equal(pooled.p99_ms, 50);
    assert.equal(pooled.max_ms, 80);
    assert.equal(pooled.generator_lag_max_ms, 20);
    assert.equal(pooled.generator_lag_p99_ms, 10);
  });
});
