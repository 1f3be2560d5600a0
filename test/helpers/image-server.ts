/**
 * HTTP servers on loopback for image_url tests: an "allowed" one on 127.0.0.2 that serves the shared
 * images (and redirects), and a "trap" on 127.0.0.1 that counts connections and must see none.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { imagesDir } from './paths';

export class LoopbackServer {
  connections = 0;
  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(host: string, redirectTo?: () => string): Promise<LoopbackServer> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/redirect' && redirectTo !== undefined) {
        res.writeHead(302, { location: redirectTo() }).end();
        return;
      }
      const path = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
      readFile(join(imagesDir, path)).then(
        (data) =>
          res
            .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length })
            .end(data),
        () => res.writeHead(404).end('not found'),
      );
    });
    const s = await new Promise<LoopbackServer>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () =>
        resolve(new LoopbackServer(server, host, (server.address() as AddressInfo).port)),
      );
    });
    server.on('connection', () => s.connections++);
    return s;
  }

  get base(): string {
    return `http://${this.host}:${this.port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
