/**
 * A small pool of worker threads for the decode and the Pillow-exact resize, so a 50-megapixel image
 * does not hold the event loop (HTTP, BullMQ lock renewal) for hundreds of milliseconds, and its
 * full-size pixels never cross threads (pil-resize.thread.ts). Workers are started lazily and keep the
 * process alive only while they have work.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SharpOptions } from 'sharp';
import type { DecodeTask } from './pil-resize.thread';

/**
 * A worker whose last decode was larger than this is replaced: the decoded image is a Buffer of that
 * worker's heap, freed only when its garbage collector runs, which an idle worker never does. Ending
 * the worker frees it at once (a new one starts in about 100 ms, next to a decode of seconds).
 */
const RECYCLE_AFTER_BYTES = 64 * 1024 * 1024;

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Job {
  task: Omit<DecodeTask, 'id'>;
  resolve: (out: Uint8Array) => void;
  reject: (err: Error) => void;
}

export class ResizePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly inflight = new Map<number, { job: Job; slot: Slot }>();
  private nextId = 1;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  /** Decodes `bytes` (sharp's `input` options) and resizes to outWidth x outHeight RGB. */
  decodeResized(
    bytes: Uint8Array,
    input: SharpOptions,
    outWidth: number,
    outHeight: number,
  ): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      this.queue.push({ task: { bytes, input, outWidth, outHeight }, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => !s.busy) ?? this.spawn();
      if (slot === undefined) return;
      const job = this.queue.shift() as Job;
      const id = this.nextId++;
      slot.busy = true;
      slot.worker.ref();
      this.inflight.set(id, { job, slot });
      // The compressed bytes are copied (structured clone): the caller keeps its buffer.
      slot.worker.postMessage({ ...job.task, id });
    }
  }

  private spawn(): Slot | undefined {
    if (this.slots.length >= this.size) return undefined;
    const worker = new Worker(join(__dirname, 'pil-resize.thread.js'));
    const slot: Slot = { worker, busy: false };
    worker.unref();
    worker.on('message', (msg: { id: number; out?: Uint8Array; error?: string; decodedBytes?: number }) => {
      const entry = this.inflight.get(msg.id);
      if (entry === undefined) return;
      this.inflight.delete(msg.id);
      slot.busy = false;
      worker.unref();
      if ((msg.decodedBytes ?? 0) > RECYCLE_AFTER_BYTES) this.retire(slot);
      if (msg.out !== undefined) entry.job.resolve(msg.out);
      else entry.job.reject(new Error(msg.error ?? 'resize failed'));
      this.pump();
    });
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', (code) => this.fail(slot, new Error(`resize worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  /** Takes an idle worker out of the pool and ends it (its exit then finds no task to fail). */
  private retire(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    void slot.worker.terminate();
  }

  /** A dead worker fails its task and is replaced on demand. */
  private fail(slot: Slot, err: Error): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    for (const [id, entry] of this.inflight) {
      if (entry.slot === slot) {
        this.inflight.delete(id);
        entry.job.reject(err);
      }
    }
    this.pump();
  }
}

let shared: ResizePool | undefined;

/** The process-wide pool. */
export function resizePool(): ResizePool {
  shared ??= new ResizePool();
  return shared;
}
