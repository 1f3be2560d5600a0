/** At most one warning per interval while a dependency is down, with the count of the ones skipped. */
import type { Logger } from '@nestjs/common';

const DEFAULT_INTERVAL_MS = 10_000;

export class RateLimitedWarning {
  private last = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  warn(what: string, err: unknown): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    const skipped = this.suppressed > 0 ? ` (${this.suppressed} similar errors not logged)` : '';
    this.logger.warn(`${what}: ${message}${skipped}`);
    this.last = now;
    this.suppressed = 0;
  }
}
