/**
 * In-process single-flight: concurrent calls with the same key share one execution and its outcome.
 * The entry is removed when it settles, so a later call runs again (the cache answers those).
 */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  /** Runs `fn` unless a call for `key` is already running; `joined` says which happened. */
  run(key: string, fn: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.inflight.get(key);
    if (existing !== undefined) return { promise: existing, joined: true };
    const promise = Promise.resolve()
      .then(fn)
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return { promise, joined: false };
  }

  get size(): number {
    return this.inflight.size;
  }
}
