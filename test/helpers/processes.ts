/**
 * The built API (dist/main.js) and worker (dist/worker.js) as child processes, on free ports, with their
 * output kept (bounded) for assertions and failure reports. Every child is killed when the test process
 * exits, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tinyModelPath } from './paths';
import { freePort } from './redis';
import { sleep } from './time';
import { TEST_JWT_SECRET } from './tokens';
import { API_NODE_FLAGS } from '../../src/bootstrap/node-flags';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

const MAX_LOG_CHARS = 2_000_000;

export class ServiceProcess {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    /** The HTTP port: the API's, or the worker's health server. */
    readonly port: number,
    /** The management listener's port (/metrics and the probes). */
    readonly managementPort: number,
  ) {
    children.add(child);
    const keep = (chunk: Buffer): void => {
      this.output += chunk.toString();
      if (this.output.length > MAX_LOG_CHARS) this.output = this.output.slice(-MAX_LOG_CHARS / 2);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Where /metrics is served (the management listener, on loopback). */
  get managementUrl(): string {
    return `http://127.0.0.1:${this.managementPort}`;
  }

  get logs(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Polls GET `path` until it answers `status`, or throws with the process output. */
  async waitFor(path: string, status = 200, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited before ${path} answered:\n${this.tail()}`);
      try {
        const res = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === status) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`${this.name}: ${path} did not answer ${status} within ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** Sends a signal and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 30_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const started = Date.now();
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return { ...result, ms: Date.now() - started };
  }

  tail(chars = 4000): string {
    return this.output.slice(-chars);
  }
}

export type Env = Record<string, string | undefined>;

/** Settings every test process gets; callers override or add. */
export function baseEnv(extra: Env = {}): Env {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    JWT_SECRET: TEST_JWT_SECRET,
    MODEL_PATH: tinyModelPath(),
    MODEL_WARMUP: 'true',
    ORT_INTRA_OP_THREADS: '1',
    BATCH_MAX_SIZE: '8',
    BATCH_MAX_WAIT_MS: '20',
    RATE_LIMIT_LIMIT: '1000',
    SHUTDOWN_DRAIN_TIMEOUT_MS: '10000',
    ...extra,
  };
}

function entry(file: string): string {
  const path = join(repoRoot, 'dist', file);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`);
  return path;
}

async function launch(name: string, file: string, env: Env, port: number): Promise<ServiceProcess> {
  const managementPort = env.MANAGEMENT_PORT !== undefined ? Number(env.MANAGEMENT_PORT) : await freePort();
  // The API runs with the node flags it is deployed with (src/bootstrap/node-flags.ts).
  const flags = file === 'main.js' ? API_NODE_FLAGS : [];
  const child = spawn(process.execPath, [...flags, entry(file)], {
    cwd: repoRoot,
    env: Object.fromEntries(
      Object.entries({ ...env, MANAGEMENT_PORT: String(managementPort) }).filter(([, v]) => v !== undefined),
    ) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ServiceProcess(name, child, port, managementPort);
}

/** Starts the API and waits until /health/live answers (readiness is the caller's business). */
export async function startApi(env: Env): Promise<ServiceProcess> {
  const port = await freePort();
  const api = await launch('api', 'main.js', { ...env, PORT: String(port) }, port);
  await api.waitFor('/health/live');
  return api;
}

/** Starts a worker and waits until its health server says it is ready (model warm, Redis up). */
export async function startWorker(env: Env): Promise<ServiceProcess> {
  const port = await freePort();
  const worker = await launch('worker', 'worker.js', { ...env, WORKER_HEALTH_PORT: String(port) }, port);
  await worker.waitFor('/health/ready');
  return worker;
}

/** A Prometheus sample (sum over label sets matching `labels`), 0 when absent. */
export async function metric(
  service: ServiceProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(`${service.managementUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}
