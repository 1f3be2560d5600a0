/**
 * Worker thread that owns the BLIP runtime. onnxruntime-node's run() keeps the calling thread busy for
 * the whole graph execution, so inference lives here and the event loop of the API or worker process
 * stays free for HTTP, health probes and BullMQ lock renewal.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BlipRuntime, type RuntimeOptions } from '../blip-runtime';
import type { CaptionRequest } from '../caption-model.port';
import { ModelError } from '../model.errors';

export interface RuntimeThreadData {
  dir: string;
  options: RuntimeOptions;
}

export type RuntimeThreadRequest = { id: number; kind: 'caption'; requests: CaptionRequest[] };

export type RuntimeThreadReply =
  | { kind: 'ready'; info: ReturnType<BlipRuntime['info']> }
  | { kind: 'load-error'; error: SerializedError }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: SerializedError };

export interface SerializedError {
  message: string;
  code?: string;
}

function serialize(err: unknown): SerializedError {
  if (err instanceof ModelError) return { message: err.message, code: err.code };
  return { message: err instanceof Error ? err.message : String(err) };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as RuntimeThreadData;
  let runtime: BlipRuntime;
  try {
    runtime = await BlipRuntime.load(data.dir, data.options);
  } catch (err) {
    port.postMessage({ kind: 'load-error', error: serialize(err) } satisfies RuntimeThreadReply);
    return;
  }
  port.on('message', (msg: RuntimeThreadRequest) => {
    runtime.caption(msg.requests).then(
      (result) => port.postMessage({ kind: 'result', id: msg.id, result } satisfies RuntimeThreadReply),
      (err: unknown) =>
        port.postMessage({ kind: 'error', id: msg.id, error: serialize(err) } satisfies RuntimeThreadReply),
    );
  });
  port.postMessage({ kind: 'ready', info: runtime.info() } satisfies RuntimeThreadReply);
}

void main();
