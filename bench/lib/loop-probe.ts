/**
 * Preloaded into a process under test (`node --require build/bench/lib/loop-probe.js`) by
 * `npm run bench:hit-tail`: records the event loop's delay histogram (perf_hooks, 1 ms resolution), every
 * stall of the loop longer than 3 ms with its wall-clock time, and every garbage collection (kind, start,
 * duration), and the bytes each scavenge promoted (v8.GCProfiler). SIGUSR2 writes what was recorded since the last SIGUSR2 to `$LOOP_PROBE_OUT.<n>.json` and
 * starts over. Diagnostic only; never part of the service.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { GCProfiler } from 'node:v8';
import {
  constants,
  monitorEventLoopDelay,
  performance,
  PerformanceObserver,
  type PerformanceEntry,
} from 'node:perf_hooks';

const out = process.env.LOOP_PROBE_OUT;
if (out !== undefined) {
  const epoch = (t: number): number => performance.timeOrigin + t;
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
  };
  let gcs: { at: number; ms: number; kind: string }[] = [];
  let stalls: { at: number; ms: number }[] = [];
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = (e as PerformanceEntry & { detail?: { kind?: number } }).detail;
      gcs.push({ at: epoch(e.startTime), ms: e.duration, kind: kinds[detail?.kind ?? -1] ?? 'other' });
    }
  }).observe({ entryTypes: ['gc'] });
  // Bytes each scavenge moved into the old generation (old and large-object spaces, after - before).
  interface SpaceStats {
    spaceName: string;
    spaceUsedSize: number;
  }
  interface GcStat {
    gcType: string;
    beforeGC: { heapSpaceStatistics: SpaceStats[] };
    afterGC: { heapSpaceStatistics: SpaceStats[] };
  }
  const oldUsed = (spaces: SpaceStats[]): number =>
    spaces
      .filter((x) => x.spaceName === 'old_space' || x.spaceName === 'large_object_space')
      .reduce((sum, x) => sum + x.spaceUsedSize, 0);
  let profiler = new GCProfiler();
  profiler.start();
  const tick = 2;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    const late = now - last - tick;
    if (late > 3) stalls.push({ at: epoch(last + tick), ms: late });
    last = now;
  }, tick).unref();
  // LOOP_PROBE_HEAP=1: also a sampling heap profile of what was promoted (objects that outlived the
  // young generation and were then freed by a mark-compact), written next to each snapshot;
  // LOOP_PROBE_HEAP=all: of everything allocated (young garbage included), for allocation per request.
  const heapMode = process.env.LOOP_PROBE_HEAP;
  const session = heapMode === '1' || heapMode === 'all' ? new Session() : undefined;
  const startSampling = (): void =>
    session?.post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: heapMode === 'all',
    });
  session?.connect();
  startSampling();
  let n = 0;
  process.on('SIGUSR2', () => {
    const index = n;
    // A minor GC first (with --expose-gc), so that young garbage is not counted as promoted.
    (globalThis as { gc?: (o: { type: string }) => void }).gc?.({ type: 'minor' });
    session?.post('HeapProfiler.stopSampling', (err, result) => {
      if (err === null) writeFileSync(`${out}.${index}.heapprofile`, JSON.stringify(result.profile));
      startSampling();
    });
    const stats = (profiler.stop()?.statistics ?? []) as GcStat[];
    profiler = new GCProfiler();
    profiler.start();
    const scavenges = stats.filter((g) => g.gcType === 'Scavenge');
    const promoted = scavenges.reduce(
      (sum, g) =>
        sum + Math.max(0, oldUsed(g.afterGC.heapSpaceStatistics) - oldUsed(g.beforeGC.heapSpaceStatistics)),
      0,
    );
    const h = histogram;
    const ms = (ns: number): number => ns / 1e6;
    writeFileSync(
      `${out}.${n++}.json`,
      JSON.stringify({
        pid: process.pid,
        loop_delay_ms: {
          p50: ms(h.percentile(50)),
          p99: ms(h.percentile(99)),
          p999: ms(h.percentile(99.9)),
          max: ms(h.max),
          count: h.count,
        },
        heap: process.memoryUsage(),
        scavenges: scavenges.length,
        promoted_bytes: promoted,
        gcs,
        stalls,
      }),
    );
    h.reset();
    gcs = [];
    stalls = [];
  });
}
