/**
 * Small node:http listeners for probes and scrapes, with the same HealthChecks and MetricsService as the
 * API's routes (import HealthModule and MetricsModule in the process's module):
 * - the management listener (both processes, MANAGEMENT_HOST:MANAGEMENT_PORT): /metrics and the probes;
 * - the worker's probe listener (HOST:WORKER_HEALTH_PORT): the probes only, since the worker is a Nest
 *   application context without an HTTP listener of its own.
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

export interface EndpointsOptions {
  port: number;
  host: string;
  /** Serve /metrics too (the management listener). */
  metrics: boolean;
  /** For the log line. */
  name: string;
}

/** The worker's probe listener: /health/* on HOST:WORKER_HEALTH_PORT. */
export function startWorkerHealthServer(
  app: INestApplicationContext,
  port: number,
  host: string,
): Promise<WorkerHealthServer> {
  return startEndpointsServer(app, { port, host, metrics: false, name: 'worker health server' });
}

/** The management listener: /metrics and /health/* on MANAGEMENT_HOST:MANAGEMENT_PORT. */
export function startManagementServer(
  app: INestApplicationContext,
  port: number,
  host: string,
): Promise<WorkerHealthServer> {
  return startEndpointsServer(app, { port, host, metrics: true, name: 'management server' });
}

export async function startEndpointsServer(
  app: INestApplicationContext,
  options: EndpointsOptions,
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
    if (options.metrics && path === '/metrics') {
      const { contentType, body } = await metrics.metrics();
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    sendProblem(
      res,
      404,
      'Not found',
      `This listener serves only /health/live, /health/ready, /health/startup${options.metrics ? ' and /metrics' : ''}.`,
    );
  };

  // Idle and slow connections are bounded here too (a scraper or a probe sends a few hundred bytes).
  const server = createServer({ headersTimeout: 5000, requestTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'worker health endpoint failed');
      if (!res.headersSent)
        sendProblem(res, 500, 'Internal server error', 'The health check failed unexpectedly.');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  logger.log(`${options.name} listening on ${options.host}:${bound}`);

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
