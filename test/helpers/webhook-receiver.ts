/**
 * A webhook receiver on loopback for tests: records every request (headers and raw body) and answers as
 * told: 2xx, 500, a redirect, a reset, or silence (to time the sender out).
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour = 'ok' | 'error' | 'redirect' | 'reset' | 'silent';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  behaviour: Behaviour = 'ok';
  private readonly hanging: ServerResponse[] = [];

  private constructor(private readonly server: Server) {}

  static async start(host = '127.0.0.1'): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        switch (receiver.behaviour) {
          case 'ok':
            res.writeHead(204).end();
            break;
          case 'error':
            res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver broke');
            break;
          case 'redirect':
            res.writeHead(302, { location: `http://${host}:${receiver.port}/elsewhere` }).end();
            break;
          case 'reset':
            req.socket.destroy();
            break;
          case 'silent':
            receiver.hanging.push(res);
            break;
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
