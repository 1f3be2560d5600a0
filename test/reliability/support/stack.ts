/**
 * Queue mode as it runs in production, for the reliability suite: a private redis-server on a free port
 * with the test's own configuration (never the shared Redis), API and worker processes from dist/, and
 * the probes the tests read (Redis INFO, BullMQ's event stream, /proc memory figures). Everything a
 * test starts is registered here and killed by `stopAll()` (call it from an after() hook), and killed
 * again on process exit whatever happened.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { tinyModelPath } from '../../helpers/paths';
import { PrivateRedis } from '../../helpers/redis';
import { baseEnv, startApi, startWorker, type Env, type ServiceProcess } from '../../helpers/processes';
import { sleep } from '../../helpers/time';

const started = new Set<ServiceProcess>();
const redisPids = new Set<number>();
const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  for (const pid of redisPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** One figure of the run, in the TAP output (`# ...`) so it can be copied into docs/reliability.md. */
export function figure(text: string): void {
  console.log(`# ${text}`);
}

/** A private redis-server whose pid is known, so it is killed even if the test process dies. */
export class TestRedis {
  private constructor(readonly server: PrivateRedis) {}

  static async start(args: string[] = []): Promise<TestRedis> {
    const r = new TestRedis(await PrivateRedis.start(args));
    await r.rememberPid();
    return r;
  }

  get url(): string {
    return this.server.url;
  }

  /** A client for probing; the caller disconnects it. */
  client(): Redis {
    const c = new Redis(this.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    c.on('error', () => undefined);
    return c;
  }

  async restart(): Promise<void> {
    await this.server.start();
    await this.rememberPid();
  }

  async kill(): Promise<void> {
    await this.server.stop('SIGKILL');
  }

  async destroy(): Promise<void> {
    await this.server.destroy();
  }

  /** `used_memory` of INFO memory, in bytes. */
  async usedMemory(): Promise<number> {
    return Number(/used_memory:(\d+)/.exec(await this.info('memory'))?.[1] ?? NaN);
  }

  async info(section: string): Promise<string> {
    const c = this.client();
    try {
      await waitReady(c);
      return await c.info(section);
    } finally {
      c.disconnect();
    }
  }

  private async rememberPid(): Promise<void> {
    const pid = Number(/process_id:(\d+)/.exec(await this.info('server'))?.[1]);
    if (Number.isInteger(pid) && pid > 0) redisPids.add(pid);
  }
}

async function waitReady(c: Redis): Promise<void> {
  const deadline = Date.now() + 5000;
  while (c.status !== 'ready') {
    if (Date.now() > deadline) throw new Error(`probe client: Redis is ${c.status}`);
    await sleep(20);
  }
}

/**
 * A private copy of the tiny bundle, checked against its manifest: other suites (parity) may rebuild
 * models/test-tiny in place while this one runs, and a worker restarted mid-test must find it whole.
 */
export async function privateModel(): Promise<string> {
  const source = tinyModelPath();
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'captioner-model-'));
    tempDirs.push(dir);
    cpSync(source, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      files: Record<string, { sha256: string }>;
    };
    const whole = Object.entries(manifest.files).every(
      ([file, { sha256 }]) =>
        createHash('sha256')
          .update(readFileSync(join(dir, file)))
          .digest('hex') === sha256,
    );
    if (whole) return dir;
    if (attempt >= 10) throw new Error(`${source} keeps changing under the copy`);
    await sleep(3000);
  }
}

let modelDir: string | undefined;

/** Settings of every process of a queue-mode stack (with the private model copy); tests add their own. */
export async function queueEnv(redisUrl: string, extra: Env = {}): Promise<Env> {
  modelDir ??= await privateModel();
  return baseEnv({ REDIS_URL: redisUrl, QUEUE_NAME: 'captions', MODEL_PATH: modelDir, ...extra });
}

export async function api(env: Env, ready = true): Promise<ServiceProcess> {
  const p = await startApi(env);
  started.add(p);
  if (ready) await p.waitFor('/health/ready', 200, 60_000);
  return p;
}

export async function worker(env: Env): Promise<ServiceProcess> {
  const p = await startWorker(env);
  started.add(p);
  return p;
}

/** `apis` API processes and a worker on `env`, started side by side, all ready. */
export async function apisAndWorker(
  env: Env,
  apis = 1,
): Promise<{ apis: ServiceProcess[]; worker: ServiceProcess }> {
  const [w, ...a] = await Promise.all([worker(env), ...Array.from({ length: apis }, () => api(env))]);
  return { apis: a, worker: w };
}

/** Kills every process this file started (and the given Redis servers). */
export async function stopAll(...redis: (TestRedis | undefined)[]): Promise<void> {
  await Promise.all([...started].map((p) => (p.running ? p.stop('SIGKILL') : undefined)));
  await Promise.all(redis.map((r) => r?.destroy()));
}

/** Every log line every process of this file wrote (for the log greps). */
export function allLogs(): string {
  return [...started].map((p) => p.logs).join('\n');
}

/** Peak and current resident memory of a process (Linux /proc), in MiB. */
export function memoryOf(p: ServiceProcess): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
  const kib = (field: string): number =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

export interface QueueEvent {
  id: string;
  event: string;
  jobId: string;
  fields: Record<string, string>;
}

/** BullMQ's event stream of the queue (completed, failed, stalled, ...), oldest first. */
export async function queueEvents(redis: TestRedis, queueName = 'captions'): Promise<QueueEvent[]> {
  const c = redis.client();
  try {
    await waitReady(c);
    const entries = await c.xrange(`bull:${queueName}:events`, '-', '+');
    return entries.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
      return { id, event: fields.event ?? '', jobId: fields.jobId ?? '', fields };
    });
  } finally {
    c.disconnect();
  }
}

/** Counts of events per job id since the stream id `sinceId` (exclusive), for one event name. */
export function perJob(events: QueueEvent[], name: string, sinceId = '0-0'): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) {
    if (e.event !== name || compareIds(e.id, sinceId) <= 0) continue;
    counts.set(e.jobId, (counts.get(e.jobId) ?? 0) + 1);
  }
  return counts;
}

/** The id of the newest event, to count what happens after now. */
export async function lastEventId(redis: TestRedis, queueName = 'captions'): Promise<string> {
  const c = redis.client();
  try {
    await waitReady(c);
    const [last] = await c.xrevrange(`bull:${queueName}:events`, '+', '-', 'COUNT', 1);
    return last?.[0] ?? '0-0';
  } finally {
    c.disconnect();
  }
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
