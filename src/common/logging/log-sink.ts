/**
 * Where the process writes its logs. LoggingModule builds one pino instance per process, so its destination
 * is this sink, which forwards to stdout; tests redirect it to capture and grep the logs.
 */
export interface LogTarget {
  write(chunk: string): unknown;
}

class LogSink implements LogTarget {
  private target: LogTarget = process.stdout;

  write(chunk: string): boolean {
    this.target.write(chunk);
    return true;
  }

  /** Sends logs to `target` until the returned function is called. */
  redirect(target: LogTarget): () => void {
    const previous = this.target;
    this.target = target;
    return () => {
      this.target = previous;
    };
  }
}

export const logSink = new LogSink();

/** Collects log lines in memory (tests). */
export class LogCapture implements LogTarget {
  private readonly chunks: string[] = [];
  private readonly release: () => void;

  constructor() {
    this.release = logSink.redirect(this);
  }

  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }

  text(): string {
    return this.chunks.join('');
  }

  lines(): Record<string, unknown>[] {
    return this.text()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  stop(): void {
    this.release();
  }
}
