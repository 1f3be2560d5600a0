/**
 * The systems under test, each started on loopback ports with its own Redis database on the benchmark's
 * private redis-server:
 * - `reference`: bench/reference/server.py (FastAPI + uvicorn + redis-py + PyTorch generate);
 * - `queue-<variant>`: our API (node dist/main.js, with the flags it is deployed with) + one worker
 *   (node dist/worker.js) on BullMQ;
 * - `embedded-<variant>`: our API alone with no REDIS_URL (in-memory cache, in-process jobs and model).
 */
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { freePort, startProcess, stopProcess, waitUntil, type Managed } from './proc';
import { multipart } from './images';
import { API_NODE_FLAGS } from '../../src/bootstrap/node-flags';

export type SystemKind = 'reference' | 'queue' | 'embedded';
export type Variant = 'fp32' | 'int8';

export interface CaptionAnswer {
  status: number;
  ms: number;
  cached: boolean;
  captions: string[];
  error?: string;
}

export interface InferenceCount {
  /** Model calls (ours: batches; the reference: generate calls). */
  calls: number;
  /** Images captioned by those calls. */
  images: number;
}

export interface HttpRequestSpec {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: Buffer;
}

export interface BenchContext {
  root: string;
  bundle: string;
  redisPort: number;
  logDir: string;
  referencePython: string;
  jwt: { secret: string; issuer: string; audience: string };
  /** Passed to both sides: threads for torch / ONNX Runtime intra-op (0 = their defaults). */
  threads: number;
  /** ORT_ALLOW_SPINNING for our systems (undefined: the service's default). */
  ortSpinning?: boolean;
  /** When set, our processes run with `node --cpu-prof` writing there (on exit). */
  profileDir?: string;
  /** Extra node arguments and environment for our processes, per process (`npm run bench:hit-tail`'s probe). */
  extra?: (id: string, role: 'api' | 'worker') => { nodeArgs: string[]; env: Record<string, string> };
}

const READY_TIMEOUT_MS = 300_000;

export abstract class System {
  readonly processes: Managed[] = [];
  // Keep-alive shorter than every server's idle timeout (uvicorn closes idle connections after 5 s), so a
  // request never goes out on a connection the server is closing.
  protected readonly agent = new Agent({
    connections: 128,
    keepAliveTimeout: 2000,
    keepAliveMaxTimeout: 2000,
    bodyTimeout: 0,
    headersTimeout: 0,
  });
  port = 0;

  constructor(
    readonly id: string,
    readonly kind: SystemKind,
    readonly variant: Variant,
    protected readonly ctx: BenchContext,
  ) {}

  abstract start(redisDb: number): Promise<void>;
  abstract captionRequest(image: Buffer, numCaptions?: number): Promise<HttpRequestSpec>;
  abstract inferences(): Promise<InferenceCount>;
  protected abstract parse(status: number, body: string): Promise<CaptionAnswer>;

  /** Role of each process, for the resource table. */
  roles(): Record<string, Managed> {
    return Object.fromEntries(this.processes.map((p) => [p.name.split(':')[1] ?? p.name, p]));
  }

  async caption(image: Buffer, numCaptions?: number): Promise<CaptionAnswer> {
    const spec = await this.captionRequest(image, numCaptions);
    const started = performance.now();
    try {
      const res = await request(spec.url, {
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        dispatcher: this.agent,
      });
      const text = await res.body.text();
      const answer = await this.parse(res.statusCode, text);
      return { ...answer, ms: performance.now() - started };
    } catch (err) {
      return { status: 0, ms: performance.now() - started, cached: false, captions: [], error: String(err) };
    }
  }

  async stop(): Promise<void> {
    for (const p of [...this.processes].reverse()) await stopProcess(p);
    await this.agent.close();
  }

  protected async getText(url: string): Promise<{ status: number; text: string }> {
    const res = await request(url, { dispatcher: this.agent });
    return { status: res.statusCode, text: await res.body.text() };
  }
}

export class ReferenceSystem extends System {
  constructor(ctx: BenchContext) {
    super('reference', 'reference', 'fp32', ctx);
  }

  async start(redisDb: number): Promise<void> {
    this.port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REF_BUNDLE: this.ctx.bundle,
      REDIS_URL: `redis://127.0.0.1:${this.ctx.redisPort}/${redisDb}`,
      HF_HUB_OFFLINE: '1',
      TRANSFORMERS_OFFLINE: '1',
      TOKENIZERS_PARALLELISM: 'false',
      ...(this.ctx.threads > 0 ? { REF_TORCH_THREADS: String(this.ctx.threads) } : {}),
    };
    const p = startProcess(
      'reference:server',
      this.ctx.referencePython,
      [
        '-m',
        'uvicorn',
        'server:app',
        '--app-dir',
        join(this.ctx.root, 'bench', 'reference'),
        '--host',
        '127.0.0.1',
        '--port',
        String(this.port),
      ],
      { env, cwd: this.ctx.root, log: join(this.ctx.logDir, 'reference.log') },
    );
    this.processes.push(p);
    await waitUntil(
      'reference',
      async () => (await this.getText(`http://127.0.0.1:${this.port}/health`)).status === 200,
      READY_TIMEOUT_MS,
      this.processes,
    );
  }

  captionRequest(image: Buffer, numCaptions?: number): Promise<HttpRequestSpec> {
    const form = multipart(
      image,
      numCaptions !== undefined && numCaptions > 1 ? { num_captions: String(numCaptions) } : {},
    );
    return Promise.resolve({
      url: `http://127.0.0.1:${this.port}/caption`,
      method: 'POST',
      headers: { 'content-type': form.contentType },
      body: form.body,
    });
  }

  protected parse(status: number, body: string): Promise<CaptionAnswer> {
    if (status !== 200)
      return Promise.resolve({ status, ms: 0, cached: false, captions: [], error: body.slice(0, 300) });
    const json = JSON.parse(body) as { captions: string[]; cached: boolean };
    return Promise.resolve({ status, ms: 0, cached: json.cached, captions: json.captions });
  }

  async stats(): Promise<Record<string, number | string>> {
    const { text } = await this.getText(`http://127.0.0.1:${this.port}/stats`);
    return JSON.parse(text) as Record<string, number | string>;
  }

  async inferences(): Promise<InferenceCount> {
    const stats = await this.stats();
    return { calls: Number(stats.inferences), images: Number(stats.inferences) };
  }
}

/** Sum of a Prometheus series' samples with this exact name (labels ignored). */
export function metricValue(exposition: string, name: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) total += Number(m[3]);
  }
  return total;
}

export class OursSystem extends System {
  workerPort = 0;
  /** /metrics lives on each process's management listener (MANAGEMENT_PORT), not on PORT. */
  private apiManagementPort = 0;
  private workerManagementPort = 0;
  private token?: string;

  /** `label`: a suffix of the id, for two copies of one system in a run (bench:hit-tail's A/B). */
  constructor(kind: 'queue' | 'embedded', variant: Variant, ctx: BenchContext, label = '') {
    super(`${kind}-${variant}${label}`, kind, variant, ctx);
  }

  private env(redisDb: number): NodeJS.ProcessEnv {
    const c = this.ctx;
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      // As the production image (Dockerfile) sets it.
      MALLOC_ARENA_MAX: '2',
      HOST: '127.0.0.1',
      PORT: String(this.port),
      WORKER_HEALTH_PORT: String(this.workerPort),
      LOG_LEVEL: 'info',
      ...(this.kind === 'queue' ? { REDIS_URL: `redis://127.0.0.1:${c.redisPort}/${redisDb}` } : {}),
      QUEUE_NAME: `bench_${this.variant}`,
      MODEL_PATH: c.bundle,
      MODEL_VARIANT: this.variant,
      EXECUTION_PROVIDER: 'cpu',
      ORT_INTRA_OP_THREADS: String(c.threads),
      ...(c.ortSpinning === undefined ? {} : { ORT_ALLOW_SPINNING: String(c.ortSpinning) }),
      JWT_SECRET: c.jwt.secret,
      JWT_ISSUER: c.jwt.issuer,
      JWT_AUDIENCE: c.jwt.audience,
      // One subject sends everything: the per-subject limit must not be what is measured.
      RATE_LIMIT_LIMIT: '1000000',
      RATE_LIMIT_TTL_SECONDS: '60',
      SYNC_TIMEOUT_MS: '600000',
      URL_FETCH_ENABLED: 'false',
    };
  }

  private nodeArgs(role: 'api' | 'worker'): string[] {
    const dir = this.ctx.profileDir;
    // One directory per process: every thread (the resize pool's too) writes its own profile there.
    const profile =
      dir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(dir, `${this.id}-${role}`)];
    return [...profile, ...(this.ctx.extra?.(this.id, role).nodeArgs ?? [])];
  }

  private extraEnv(role: 'api' | 'worker'): Record<string, string> {
    return this.ctx.extra?.(this.id, role).env ?? {};
  }

  async start(redisDb: number): Promise<void> {
    this.port = await freePort();
    this.workerPort = await freePort();
    this.apiManagementPort = await freePort();
    this.workerManagementPort = await freePort();
    const env = this.env(redisDb);
    const dist = join(this.ctx.root, 'dist');
    if (this.kind === 'queue') {
      const worker = startProcess(
        `${this.id}:worker`,
        process.execPath,
        [...this.nodeArgs('worker'), join(dist, 'worker.js')],
        {
          env: { ...env, ...this.extraEnv('worker'), MANAGEMENT_PORT: String(this.workerManagementPort) },
          cwd: this.ctx.root,
          log: join(this.ctx.logDir, `${this.id}-worker.log`),
        },
      );
      this.processes.push(worker);
      await waitUntil(
        `${this.id} worker`,
        async () => (await this.getText(`http://127.0.0.1:${this.workerPort}/health/ready`)).status === 200,
        READY_TIMEOUT_MS,
        this.processes,
      );
    }
    const api = startProcess(
      `${this.id}:api`,
      process.execPath,
      [...API_NODE_FLAGS, ...this.nodeArgs('api'), join(dist, 'main.js')],
      {
        env: { ...env, ...this.extraEnv('api'), MANAGEMENT_PORT: String(this.apiManagementPort) },
        cwd: this.ctx.root,
        log: join(this.ctx.logDir, `${this.id}-api.log`),
      },
    );
    this.processes.push(api);
    // /api/v1/models answers 200 once a model is known (queue mode: once the worker announced it).
    await waitUntil(
      `${this.id} api`,
      async () => {
        const res = await request(`http://127.0.0.1:${this.port}/api/v1/models`, {
          headers: { authorization: `Bearer ${await this.bearer()}` },
          dispatcher: this.agent,
        });
        await res.body.text();
        return res.statusCode === 200;
      },
      READY_TIMEOUT_MS,
      this.processes,
    );
  }

  async bearer(): Promise<string> {
    if (this.token === undefined) {
      const { secret, issuer, audience } = this.ctx.jwt;
      this.token = await new SignJWT({ scope: 'caption:write caption:read' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('bench')
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('6h')
        .sign(new TextEncoder().encode(secret));
    }
    return this.token;
  }

  async captionRequest(image: Buffer, numCaptions?: number): Promise<HttpRequestSpec> {
    const form = multipart(
      image,
      numCaptions !== undefined && numCaptions > 1 ? { num_captions: String(numCaptions) } : {},
    );
    return {
      url: `http://127.0.0.1:${this.port}/api/v1/caption`,
      method: 'POST',
      headers: { 'content-type': form.contentType, authorization: `Bearer ${await this.bearer()}` },
      body: form.body,
    };
  }

  protected async parse(status: number, body: string): Promise<CaptionAnswer> {
    if (status === 202) {
      // The sync wait ran out: follow the job (SYNC_TIMEOUT_MS is set high, so this is rare).
      const { job_id } = JSON.parse(body) as { job_id: string };
      for (;;) {
        await new Promise((r) => setTimeout(r, 100));
        const res = await request(`http://127.0.0.1:${this.port}/api/v1/caption/${job_id}`, {
          headers: { authorization: `Bearer ${await this.bearer()}` },
          dispatcher: this.agent,
        });
        const text = await res.body.text();
        const json = JSON.parse(text) as { status: string };
        if (json.status !== 'processing') return this.parse(res.statusCode, text);
      }
    }
    if (status !== 200) return { status, ms: 0, cached: false, captions: [], error: body.slice(0, 300) };
    const json = JSON.parse(body) as { status: string; cached: boolean; captions: { text: string }[] };
    if (json.status !== 'success')
      return { status, ms: 0, cached: false, captions: [], error: body.slice(0, 300) };
    return { status, ms: 0, cached: json.cached, captions: json.captions.map((c) => c.text) };
  }

  /** The process whose /metrics records inferences: the worker in queue mode, the API when embedded. */
  private metricsUrl(): string {
    return this.kind === 'queue'
      ? `http://127.0.0.1:${this.workerManagementPort}/metrics`
      : `http://127.0.0.1:${this.apiManagementPort}/metrics`;
  }

  async inferences(): Promise<InferenceCount> {
    const { text } = await this.getText(this.metricsUrl());
    return {
      calls: metricValue(text, 'captioner_inference_seconds_count'),
      images: metricValue(text, 'captioner_batch_size_sum'),
    };
  }
}
