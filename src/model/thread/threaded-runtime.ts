/**
 * The main-thread side of runtime.worker.ts: the same caption() as BlipRuntime, answered by a worker
 * thread. A thread that dies fails its in-flight calls with a ModelError and is restarted on the next
 * call, so one crash does not take the process down.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RuntimeOptions } from '../blip-runtime';
import type { Caption, CaptionRequest, ModelInfo } from '../caption-model.port';
import { ModelError, ModelErrorCode } from '../model.errors';
import type {
  RuntimeThreadData,
  RuntimeThreadReply,
  RuntimeThreadRequest,
  SerializedError,
} from './runtime.worker';

interface Pending {
  resolve: (captions: Caption[][]) => void;
  reject: (err: Error) => void;
}

function toError(e: SerializedError): ModelError {
  const code = Object.values(ModelErrorCode).includes(e.code as ModelErrorCode)
    ? (e.code as ModelErrorCode)
    : ModelErrorCode.InferenceFailed;
  return new ModelError(code, e.message);
}

export class ThreadedRuntime {
  private worker?: Worker;
  private starting?: Promise<ModelInfo>;
  private modelInfo?: ModelInfo;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly options: RuntimeOptions,
  ) {}

  /** Starts the thread and loads the bundle; rejects with the bundle's error (file named). */
  async start(): Promise<ModelInfo> {
    this.starting ??= this.spawn();
    try {
      return await this.starting;
    } catch (err) {
      this.starting = undefined;
      throw err;
    }
  }

  info(): ModelInfo {
    if (this.modelInfo === undefined)
      throw new ModelError(ModelErrorCode.BundleInvalid, 'The model is not loaded yet.');
    return this.modelInfo;
  }

  async caption(requests: CaptionRequest[]): Promise<Caption[][]> {
    await this.start();
    const worker = this.worker as Worker;
    const id = this.nextId++;
    // Copies, not transfers: the batcher may resend a request on its own after a failed batch.
    const copies = requests.map((r) => ({ ...r, image: { ...r.image, rgb: new Uint8Array(r.image.rgb) } }));
    return new Promise<Caption[][]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(
        { id, kind: 'caption', requests: copies } satisfies RuntimeThreadRequest,
        copies.map((c) => c.image.rgb.buffer as ArrayBuffer),
      );
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  private spawn(): Promise<ModelInfo> {
    return new Promise<ModelInfo>((resolve, reject) => {
      const data: RuntimeThreadData = { dir: this.dir, options: this.options };
      const worker = new Worker(join(__dirname, 'runtime.worker.js'), { workerData: data });
      let ready = false;
      worker.on('message', (msg: RuntimeThreadReply) => {
        if (msg.kind === 'ready') {
          ready = true;
          this.worker = worker;
          this.modelInfo = msg.info;
          resolve(msg.info);
        } else if (msg.kind === 'load-error') {
          reject(toError({ ...msg.error, code: msg.error.code ?? ModelErrorCode.BundleInvalid }));
          void worker.terminate();
        } else {
          const pending = this.pending.get(msg.id);
          if (pending === undefined) return;
          this.pending.delete(msg.id);
          if (msg.kind === 'result') pending.resolve(msg.result as Caption[][]);
          else pending.reject(toError(msg.error));
        }
      });
      const died = (reason: string): void => {
        if (!ready)
          reject(new ModelError(ModelErrorCode.BundleInvalid, `model thread failed to start: ${reason}`));
        if (this.worker === worker) {
          this.worker = undefined;
          this.starting = undefined;
        }
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.reject(new ModelError(ModelErrorCode.InferenceFailed, `model thread stopped: ${reason}`));
        }
      };
      worker.on('error', (err) => died(err.message));
      worker.on('exit', (code) => {
        if (!this.closed) died(`exit code ${code}`);
      });
    });
  }
}
