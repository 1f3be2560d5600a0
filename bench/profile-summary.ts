/**
 * `node build/bench/profile-summary.js FILE... [--top N]`: where a profile written by
 * `npm run bench -- --profile DIR` spent its time. `.cpuprofile` (node --cpu-prof): self time by
 * function and by package/file, idle apart, in percent of the busy samples, plus inclusive time.
 * `.speedscope.json` (py-spy record of the reference): self and inclusive time by Python function.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function place(url: string): string {
  if (url === '') return '(native/vm)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

interface Speedscope {
  shared: { frames: { name: string; file?: string; line?: number }[] };
  profiles: { type: string; samples: number[][]; weights: number[] }[];
}

export function summarizeSpeedscope(doc: Speedscope, top = 25): string {
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  const label = (i: number): string => {
    const fr = doc.shared.frames[i];
    const file = (fr.file ?? '').replace(/^.*site-packages\//, '');
    return `${fr.name} ${file}${fr.line !== undefined ? `:${fr.line}` : ''}`;
  };
  for (const prof of doc.profiles) {
    prof.samples.forEach((stack, i) => {
      const w = prof.weights[i] ?? 1;
      total += w;
      if (stack.length > 0) {
        const leaf = label(stack[stack.length - 1]);
        self.set(leaf, (self.get(leaf) ?? 0) + w);
      }
      for (const key of new Set(stack.map(label))) incl.set(key, (incl.get(key) ?? 0) + w);
    });
  }
  const pct = (w: number): string => `${((100 * w) / Math.max(1, total)).toFixed(1)}%`;
  const list = (m: Map<string, number>): string[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, w]) => `  ${pct(w).padStart(6)}  ${k}`);
  return [
    'samples (all threads)',
    '',
    'self time:',
    ...list(self),
    '',
    'inclusive time:',
    ...list(incl),
  ].join('\n');
}

export function summarize(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let idle = 0;
  let total = 0;
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const where = place(frame.url);
    const key = `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    file.set(where, (file.get(where) ?? 0) + us);
  }
  // Inclusive time: every distinct frame on a sample's stack (idle excluded).
  const incl = new Map<string, number>();
  for (const [id, us] of self) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined || frame.functionName === '(root)') continue;
      const key = `${frame.functionName || '(anonymous)'} ${place(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + us);
    }
  }
  const pct = (us: number): string => `${((100 * us) / Math.max(1, total)).toFixed(1)}%`;
  const lines = [
    `wall ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, busy ${(total / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s`,
    '',
    'self time by package / file:',
    ...[...file.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us).padStart(6)}  ${k}`),
    '',
    'self time by function:',
    ...[...fn.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us).padStart(6)}  ${k}`),
    '',
    'inclusive time by function:',
    ...[...incl.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us).padStart(6)}  ${k}`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  for (const path of positionals) {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile | Speedscope;
    const text =
      'shared' in doc ? summarizeSpeedscope(doc, Number(values.top)) : summarize(doc, Number(values.top));
    process.stdout.write(`== ${path}\n${text}\n\n`);
  }
}
