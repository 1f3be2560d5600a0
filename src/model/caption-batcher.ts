/**
 * Dynamic batching: requests that arrive while the model is busy, or within BATCH_MAX_WAIT_MS of the
 * first one, run together as one model.caption call of at most BATCH_MAX_SIZE. One batch runs at a
 * time (the model saturates the device). A failed batch is retried request by request, so one input
 * that breaks inference fails alone.
 */
import type { Caption, CaptionModel, CaptionRequest } from './caption-model.port';

interface Pending {
  request: CaptionRequest;
  resolve: (captions: Caption[]) => void;
  reject: (err: unknown) => void;
}

export interface BatchObserver {
  (batchSize: number, seconds: number): void;
}

export class CaptionBatcher {
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private running = false;
  private readonly observers: BatchObserver[] = [];

  constructor(
    private readonly model: CaptionModel,
    private readonly maxSize: number,
    private readonly maxWaitMs: number,
  ) {}

  /** Called after every model call with its batch size and duration. */
  observe(observer: BatchObserver): void {
    this.observers.push(observer);
  }

  get pending(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.running;
  }

  submit(request: CaptionRequest): Promise<Caption[]> {
    return new Promise<Caption[]>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length >= this.maxSize || this.maxWaitMs === 0) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.maxWaitMs);
    }
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxSize);
    this.running = true;
    void this.run(batch).finally(() => {
      this.running = false;
      // Whatever arrived during the batch runs next without waiting.
      if (this.queue.length > 0) this.flush();
    });
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const results = await this.timed(batch.map((p) => p.request));
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      for (const p of batch) {
        try {
          const [captions] = await this.timed([p.request]);
          p.resolve(captions);
        } catch (single) {
          p.reject(single);
        }
      }
    }
  }

  private async timed(requests: CaptionRequest[]): Promise<Caption[][]> {
    const started = process.hrtime.bigint();
    const results = await this.model.caption(requests);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const observe of this.observers) observe(requests.length, seconds);
    return results;
  }
}
