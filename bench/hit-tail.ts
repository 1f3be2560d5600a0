/**
 * `npm run bench:hit-tail [-- --systems reference,queue-fp32] [--rate N] [--seconds S] [--rounds R]
 *  [--no-closed | --closed-first] [--node-args "..."] [--profile DIR] [--keep-logs] [--heap-profile | --heap-all] [--ab="--flag ..."] (the = is needed: the value starts with a dash)`
 *
 * Where the cache-hit path's tail comes from: the benchmark's open-loop hit workload (evenly spaced
 * arrivals, latency from the due time) against each system, with our processes preloaded with
 * bench/lib/loop-probe.ts (event-loop delay histogram, loop stalls and garbage collections, with their
 * wall-clock times). Each round prints the latency percentiles, the CPU every process of the run used,
 * the machine's CPU use from /proc/stat, our API's loop delay and GC, and how many of the slowest 1% of
 * requests were due while our API's loop was stalled or collecting. Before each round, as in
 * `npm run bench`, a closed-loop run at 100 connections (--no-closed skips it; --closed-first runs
 * every system's first, as the benchmark does). Timed: hold the bench lock. The probe's 2 ms timer keeps
 * our processes from ever idling, so what an idle minute does to V8 (the memory reducer's GC, the heap
 * limit it leaves) shows only in `npm run bench` (docs/reliability.md, "2026-12-05, night").
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPhotos, nonce, withNonce } from './lib/images';
import { cannon, openLoop, percentile } from './lib/load';
import { cpuSeconds, loadAverage, sleep } from './lib/proc';
import { startRedis, type BenchRedis } from './lib/redis';
import { OursSystem, ReferenceSystem, type BenchContext, type System, type Variant } from './lib/systems';

const root = resolve(__dirname, '..', '..');
const { values } = parseArgs({
  options: {
    systems: { type: 'string', default: 'reference,queue-fp32' },
    bundle: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'no-closed': { type: 'boolean', default: false },
    'closed-first': { type: 'boolean', default: false },
    'node-args': { type: 'string', default: '' },
    profile: { type: 'string' },
    'keep-logs': { type: 'boolean', default: false },
    'heap-profile': { type: 'boolean', default: false },
    'heap-all': { type: 'boolean', default: false },
    ab: { type: 'string' },
    photos: { type: 'string', default: join(root, '..', 'shared', 'images', 'photos') },
  },
});

interface Probe {
  loop_delay_ms: { p50: number; p99: number; p999: number; max: number; count: number };
  heap: NodeJS.MemoryUsage;
  scavenges: number;
  promoted_bytes: number;
  gcs: { at: number; ms: number; kind: string }[];
  stalls: { at: number; ms: number }[];
}

/** User and system CPU seconds of a process, apart (the per-hit line shows both). */
function userSystemSeconds(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(rest[11]) / 100, system: Number(rest[12]) / 100 };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** Busy and total jiffies of the whole machine (all CPUs). */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  const total = cpu.reduce((s, x) => s + x, 0);
  return { busy: total - idle, total };
}

async function readProbe(pid: number, file: string): Promise<Probe | undefined> {
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50 && !existsSync(file); i++) await sleep(20);
  await sleep(50);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Probe) : undefined;
}

async function main(): Promise<void> {
  const bundle = resolve(values.bundle ?? join(root, 'models', 'bench-base'));
  const probeDir = mkdtempSync(join(tmpdir(), 'captioner-hit-tail-'));
  const probeJs = join(__dirname, 'lib', 'loop-probe.js');
  const extraArgs = values['node-args'].split(' ').filter((a) => a !== '');
  // --ab ARGS: every system of ours also runs a second time as `<id>+ab` with these node arguments.
  const abArgs = (values.ab ?? '').split(' ').filter((a) => a !== '');
  const rounds: Record<string, number> = {};
  const ctx: BenchContext = {
    root,
    bundle,
    redisPort: 0,
    logDir: probeDir,
    referencePython: join(root, 'bench', 'reference', '.venv', 'bin', 'python'),
    jwt: {
      secret: `bench-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef0123456789`,
      issuer: 'captioner',
      audience: 'captioner-api',
    },
    threads: 0,
    profileDir: values.profile !== undefined ? resolve(values.profile) : undefined,
    extra: (id, role) => ({
      nodeArgs: ['--require', probeJs, ...extraArgs, ...(id.endsWith('+ab') ? abArgs : [])],
      env: {
        LOOP_PROBE_OUT: join(probeDir, `${id}-${role}`),
        // --heap-profile: what was promoted; --heap-all: every allocation (young garbage included).
        ...(values['heap-all']
          ? { LOOP_PROBE_HEAP: 'all' }
          : values['heap-profile']
            ? { LOOP_PROBE_HEAP: '1' }
            : {}),
      },
    }),
  };
  const photos = await loadPhotos(values.photos);
  const small = photos.find((p) => p.name === '320x240.jpg') ?? photos[0];
  let redis: BenchRedis | undefined;
  const systems: System[] = [];
  try {
    redis = await startRedis(probeDir);
    ctx.redisPort = redis.port;
    const ids = values.systems.split(',');
    const plan =
      values.ab === undefined ? ids : ids.flatMap((id) => (id === 'reference' ? [id] : [id, `${id}+ab`]));
    for (const [i, id] of plan.entries()) {
      const m = /^(queue|embedded)-(fp32|int8)(\+ab)?$/.exec(id);
      const s =
        id === 'reference'
          ? new ReferenceSystem(ctx)
          : m
            ? new OursSystem(m[1] as 'queue' | 'embedded', m[2] as Variant, ctx, m[3] ?? '')
            : undefined;
      if (s === undefined) throw new Error(`unknown system ${id}`);
      systems.push(s);
      await s.start(i + 1);
      process.stderr.write(`${id} ready (pids ${s.processes.map((p) => p.pid).join(', ')})\n`);
    }
    const images = new Map<System, Buffer>();
    for (const s of systems) {
      const image = withNonce(small.jpeg, nonce());
      await s.caption(image);
      if (!(await s.caption(image)).cached) throw new Error(`${s.id}: no cache hit`);
      images.set(s, image);
    }
    let rate = values.rate !== undefined ? Number(values.rate) : NaN;
    if (!Number.isFinite(rate)) {
      const ref = systems.find((s) => s.kind === 'reference') ?? systems[0];
      const image = images.get(ref) ?? small.jpeg;
      await cannon(await ref.captionRequest(image), 100, 2);
      rate = Math.floor((await cannon(await ref.captionRequest(image), 100, 5)).rps / 2);
    }
    const everyProcess = systems.flatMap((s) => s.processes);
    process.stdout.write(`offered ${rate}/s for ${values.seconds} s, load ${loadAverage().join(' ')}\n`);
    // --closed-first: as `npm run bench` orders it, every system's closed-loop run (2 s warm-up, 15 s)
    // first, then the rounds, each system idle while the others run theirs.
    if (values['closed-first'])
      for (const s of systems) {
        const spec = await s.captionRequest(images.get(s) ?? small.jpeg);
        await cannon(spec, 100, 2);
        await cannon(spec, 100, 15);
      }
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const s of systems) {
        const image = images.get(s) ?? small.jpeg;
        const spec = await s.captionRequest(image);
        if (!values['no-closed'] && !values['closed-first']) await cannon(spec, 100, 5);
        // Reset the probes: what they hold now is the closed-loop run's.
        for (const p of s.processes.filter(() => s.kind !== 'reference')) {
          const role = p.name.split(':')[1];
          const key = `${s.id}-${role}`;
          await readProbe(p.pid, join(probeDir, `${key}.${(rounds[key] = (rounds[key] ?? -1) + 1)}.json`));
        }
        const cpu0 = everyProcess.map((p) => cpuSeconds(p.pid));
        const apiPid = s.processes.find((p) => p.name.endsWith(':api'))?.pid;
        const us0 = apiPid === undefined ? undefined : userSystemSeconds(apiPid);
        const m0 = machineJiffies();
        const self0 = process.cpuUsage();
        const samples: { at: number; ms: number }[] = [];
        const r = await openLoop(spec, rate, Number(values.seconds), (at, ms) => samples.push({ at, ms }));
        const m1 = machineJiffies();
        const self = process.cpuUsage(self0);
        const used = everyProcess.map((p, i) => cpuSeconds(p.pid) - cpu0[i]);
        const us1 = apiPid === undefined ? undefined : userSystemSeconds(apiPid);
        const cpu = everyProcess.map((p, i) => `${p.name} ${used[i].toFixed(2)}`);
        const probes: Record<string, Probe | undefined> = {};
        for (const p of s.processes.filter(() => s.kind !== 'reference')) {
          const role = p.name.split(':')[1];
          const key = `${s.id}-${role}`;
          probes[role] = await readProbe(
            p.pid,
            join(probeDir, `${key}.${(rounds[key] = (rounds[key] ?? -1) + 1)}.json`),
          );
        }
        const lines = [
          `round ${round} ${s.id}: p50 ${r.p50_ms.toFixed(1)} p90 ${r.p90_ms.toFixed(1)} p99 ${r.p99_ms.toFixed(1)} max ${r.max_ms.toFixed(1)} ms, ok ${r.ok}/${r.requests}, load ${loadAverage().join(' ')}`,
          `  cpu s: ${cpu.join(', ')}, generator ${((self.user + self.system) / 1e6).toFixed(2)}, machine ${(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100).toFixed(0)}% busy`,
        ];
        const api = probes.api;
        const apiProcess = s.processes.find((p) => p.name.endsWith(':api'));
        if (api !== undefined && apiProcess !== undefined && r.ok > 0) {
          // Per hit, so that rounds and changes compare whatever share of the machine the API was given.
          const apiCpuMs = used[everyProcess.indexOf(apiProcess)] * 1000;
          lines.push(
            `  api per hit: cpu ${(apiCpuMs / r.ok).toFixed(3)} ms (user ${((((us1?.user ?? 0) - (us0?.user ?? 0)) * 1000) / r.ok).toFixed(3)}, system ${((((us1?.system ?? 0) - (us0?.system ?? 0)) * 1000) / r.ok).toFixed(3)}); per 1000 hits: ${((api.scavenges / r.ok) * 1000).toFixed(1)} scavenges, ${(((api.promoted_bytes / r.ok) * 1000) / 1e6).toFixed(2)} MB promoted`,
          );
        }
        if (api !== undefined) {
          const byKind = new Map<string, number[]>();
          for (const g of api.gcs) byKind.set(g.kind, [...(byKind.get(g.kind) ?? []), g.ms]);
          const gc = [...byKind]
            .map(
              ([k, v]) =>
                `${k} ${v.length}x sum ${v.reduce((a, b) => a + b, 0).toFixed(1)} max ${Math.max(...v).toFixed(1)}`,
            )
            .join('; ');
          const d = api.loop_delay_ms;
          lines.push(
            `  api loop delay p50 ${d.p50.toFixed(1)} p99 ${d.p99.toFixed(1)} p99.9 ${d.p999.toFixed(1)} max ${d.max.toFixed(1)} ms; stalls>3ms ${api.stalls.length} (sum ${api.stalls.reduce((a, b) => a + b.ms, 0).toFixed(0)} ms, max ${Math.max(0, ...api.stalls.map((x) => x.ms)).toFixed(1)}); gc: ${gc}; heap used ${(api.heap.heapUsed / 1e6).toFixed(0)} MB`,
          );
          const sorted = samples.map((x) => x.ms).sort((a, b) => a - b);
          const cut = percentile(sorted, 99);
          const slow = samples.filter((x) => x.ms >= cut);
          const during = (at: number, ms: number, t: number): boolean => t >= at - 2 && t <= at + ms;
          const inStall = slow.filter((x) => api.stalls.some((st) => during(st.at, st.ms, x.at))).length;
          const inGc = slow.filter((x) =>
            api.gcs.some((g) => g.ms > 1 && during(g.at, g.ms, x.at) && g.kind !== 'weak-callbacks'),
          ).length;
          lines.push(
            `  slowest 1% (${slow.length}, >= ${cut.toFixed(1)} ms): due in an api loop stall ${inStall}, in a GC > 1 ms ${inGc}; due times (s into the round): ${slow
              .map((x) => ((x.at - (samples[0]?.at ?? 0)) / 1000).toFixed(2))
              .slice(0, 40)
              .join(' ')}`,
          );
          const worker = probes.worker;
          if (worker !== undefined)
            lines.push(
              `  worker: stalls>3ms ${worker.stalls.length} (max ${Math.max(0, ...worker.stalls.map((x) => x.ms)).toFixed(1)}), gcs ${worker.gcs.length}`,
            );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
    }
  } finally {
    for (const s of systems) await s.stop().catch(() => undefined);
    await redis?.stop().catch(() => undefined);
    if (values['keep-logs']) process.stderr.write(`logs kept in ${probeDir}\n`);
    else rmSync(probeDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`hit-tail: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
