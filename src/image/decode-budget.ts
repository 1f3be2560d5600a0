/**
 * Admission of decodes by memory: each decode declares its estimated peak bytes (from the header) and
 * runs only while the sum of the running ones stays within the budget. Waiters are served in arrival
 * order (a large image is not overtaken forever by small ones) and give up after a bounded wait.
 */
export class DecodeBudgetTimeout extends Error {
  constructor(readonly waitedMs: number) {
    super(`no decode memory free after ${waitedMs} ms`);
    this.name = 'DecodeBudgetTimeout';
  }
}

interface Waiter {
  cost: number;
  admit: () => void;
}

export class DecodeBudget {
  private used = 0;
  private peak = 0;
  private readonly waiting: Waiter[] = [];

  /** `budget` bytes at once; a waiter gives up after `maxWaitMs`. */
  constructor(
    readonly budget: number,
    private readonly maxWaitMs: number,
  ) {}

  /** Can an image of this cost ever run? (It must fit the whole budget on its own.) */
  fits(cost: number): boolean {
    return cost <= this.budget;
  }

  /** Runs `fn` once `cost` bytes are free; rejects with DecodeBudgetTimeout after the bounded wait. */
  async run<T>(cost: number, fn: () => Promise<T>): Promise<T> {
    if (!this.fits(cost))
      throw new RangeError(`a decode of ${cost} bytes exceeds the budget of ${this.budget}`);
    if (this.waiting.length > 0 || this.used + cost > this.budget) await this.wait(cost);
    else this.take(cost);
    try {
      return await fn();
    } finally {
      this.used -= cost;
      this.pump();
    }
  }

  /** Bytes held by running decodes, and the most ever held at once. */
  get usage(): { used: number; peak: number; waiting: number } {
    return { used: this.used, peak: this.peak, waiting: this.waiting.length };
  }

  private take(cost: number): void {
    this.used += cost;
    this.peak = Math.max(this.peak, this.used);
  }

  private wait(cost: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        cost,
        admit: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new DecodeBudgetTimeout(this.maxWaitMs));
        // The head may have left: the next ones may fit now.
        this.pump();
      }, this.maxWaitMs);
      this.waiting.push(waiter);
    });
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0].cost <= this.budget) {
      const next = this.waiting.shift() as Waiter;
      this.take(next.cost);
      next.admit();
    }
  }
}
