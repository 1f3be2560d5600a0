/**
 * Raw TCP HTTP/1.1 clients for the hostile-client tests: they send exactly what they are told (partial
 * headers, part of a body, a slow drip) and record what the server answered and when it closed the
 * connection.
 */
import { connect, type Socket } from 'node:net';
import { sleep } from '../../helpers/time';

export interface RawAnswer {
  status: number | undefined;
  headers: Map<string, string>;
  body: string;
  raw: string;
}

export function parseAnswer(raw: string): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: undefined, headers: new Map(), body: '', raw };
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body: raw.slice(end + 4), raw };
}

/** One connection: what was sent, what came back, when the server closed it. */
export class RawConnection {
  readonly socket: Socket;
  readonly opened = Date.now();
  private received = '';
  closedAt: number | undefined;
  /** When the first byte of an answer arrived. */
  answeredAt: number | undefined;
  bytesSent = 0;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.answeredAt ??= Date.now();
      this.received += chunk.toString('latin1');
    });
    // Writes after the server closed fail with EPIPE/ECONNRESET: that is the point.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  /** Milliseconds from open to the server's close (undefined while open). */
  get lifetimeMs(): number | undefined {
    return this.closedAt === undefined ? undefined : this.closedAt - this.opened;
  }

  answer(): RawAnswer {
    return parseAnswer(this.received);
  }

  write(data: string | Buffer): Promise<void> {
    if (this.isClosed || this.socket.destroyed) return Promise.resolve();
    this.bytesSent += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    return new Promise((resolve) => {
      this.socket.write(data, () => resolve());
    });
  }

  /** Sends `data` in `chunk`-byte pieces every `everyMs` until done or the server closes. */
  async drip(data: string, chunk: number, everyMs: number): Promise<void> {
    for (let i = 0; i < data.length && !this.isClosed; i += chunk) {
      await this.write(data.slice(i, i + chunk));
      await sleep(everyMs);
    }
  }

  /** Waits for the server to close, at most `ms`; returns whether it did. */
  async waitClosed(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
    clearTimeout(timer);
    return closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
