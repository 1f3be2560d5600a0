/** Child processes of the benchmark: spawn with a log file, wait for readiness, read /proc, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  log: string;
  exited: Promise<number | null>;
}

/**
 * Starts a process whose stdout/stderr go straight to `options.log` (a file descriptor, not a pipe
 * through this process: a busy load generator must never be the reason a server blocks on a log write).
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; log: string },
): Managed {
  const fd = openSync(options.log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, pid: child.pid, log: options.log, exited };
}

/** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(
  p: Managed,
  graceMs = 10_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

export function isRunning(p: Managed): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds of a live process (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** VmHWM (peak resident set) and VmRSS of a live process, in MB. */
export function memoryMb(pid: number): { peakRssMb: number; rssMb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return { peakRssMb: 0, rssMb: 0 };
  }
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a, b, c];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true, the process exits, or the timeout passes. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  processes: Managed[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = processes.find((p) => !isRunning(p));
    if (dead) throw new Error(`${what}: ${dead.name} exited with ${dead.child.exitCode} (log: ${dead.log})`);
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: not ready after ${timeoutMs} ms (logs: ${processes.map((p) => p.log).join(', ')})`,
      );
    }
    await sleep(250);
  }
}
