/**
 * The worker's probe and scrape endpoint: the worker is a Nest application context without an HTTP
 * listener, so a tiny node:http server serves /health/live, /health/ready, /health/startup and /metrics
 * with the same HealthChecks and MetricsService as the API. Import HealthModule and MetricsModule in the
 * worker's module.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { HealthChecks, type HealthReport } from './health-checks.service';

export interface WorkerHealthServer {
  /** The bound port (useful when started on port 0). */
  readonly port: number;
  close(): Promise<void>;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': `${contentType}; charset=utf-8`,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export async function startWorkerHealthServer(
  app: INestApplicationContext,
  port: number,
): Promise<WorkerHealthServer> {
  const checks = app.get(HealthChecks, { strict: false });
  const metrics = app.get(MetricsService, { strict: false });
  const logger = new Logger('WorkerHealthServer');
  const probes: Record<string, () => Promise<HealthReport>> = {
    '/health/live': () => checks.live(),
    '/health/ready': () => checks.ready(),
    '/health/startup': () => checks.startup(),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendProblem(res, 405, 'Method not allowed', 'Only GET is served here.');
      return;
    }
    const probe = probes[path];
    if (probe) {
      const report = await probe();
      sendJson(res, report.httpStatus, report.body);
      return;
    }
    if (path === '/metrics') {
      const { contentType, body } = await metrics.metrics();
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    sendProblem(
      res,
      404,
      'Not found',
      'The worker serves only /health/live, /health/ready, /health/startup and /metrics.',
    );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'worker health endpoint failed');
      if (!res.headersSent)
        sendProblem(res, 500, 'Internal server error', 'The health check failed unexpectedly.');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  logger.log(`worker health server listening on port ${bound}`);

  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function sendProblem(res: ServerResponse, status: number, title: string, detail: string): void {
  const code = status === 404 ? 'http.not_found' : status === 405 ? 'http.method_not_allowed' : 'internal';
  sendJson(
    res,
    status,
    { type: `urn:captioner:problem:${code}`, title, status, detail },
    'application/problem+json',
  );
}
