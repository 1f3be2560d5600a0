/**
 * A verifying webhook receiver on loopback for the end-to-end tests: every delivery is checked with the
 * `standardwebhooks` package's verifier (`Webhook(secret).verify(payload, headers)`) and recorded per
 * path; each path answers as its plan says for its n-th request (ok, 500, redirect, a reset connection, or
 * hanging until the sink closes). The sink can be closed and reopened on the same port (a receiver that is down, then up).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type Answer = 'ok' | 'error' | 'redirect' | 'hang' | 'reset';

export interface Delivery {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The verifier's verdict: the parsed payload, or the error it threw. */
  verified: boolean;
  error?: string;
  /** How the sink answered it. */
  answer: Answer;
}

export class WebhookSink {
  readonly received: Delivery[] = [];
  private readonly plans = new Map<string, (n: number) => Answer>();
  private readonly hanging = new Set<ServerResponse>();
  private server?: Server;
  private readonly verifier: Webhook;

  constructor(
    secret: string,
    public port = 0,
  ) {
    this.verifier = new Webhook(secret);
  }

  static async start(secret: string): Promise<WebhookSink> {
    const sink = new WebhookSink(secret);
    await sink.listen();
    return sink;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** How `path` answers its n-th request (0-based); 'ok' when unplanned. */
  plan(path: string, answer: (n: number) => Answer): void {
    this.plans.set(path, answer);
  }

  on(path: string): Delivery[] {
    return this.received.filter((d) => d.path === path);
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
        );
        const n = this.on(path).length;
        const answer = (this.plans.get(path) ?? (() => 'ok' as const))(n);
        const delivery: Delivery = { path, headers, body, verified: false, answer };
        try {
          this.verifier.verify(body, headers);
          delivery.verified = true;
        } catch (err) {
          delivery.error = err instanceof Error ? err.message : String(err);
        }
        this.received.push(delivery);
        switch (answer) {
          case 'ok':
            res.writeHead(204).end();
            break;
          case 'error':
            res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver broke');
            break;
          case 'redirect':
            res.writeHead(302, { location: this.url(`${path}/moved`) }).end();
            break;
          case 'hang':
            this.hanging.add(res);
            break;
          case 'reset':
            req.socket.destroy();
            break;
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
