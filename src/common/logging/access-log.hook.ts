/**
 * One access-log line per answered request, from a Fastify onResponse hook: request id, method, sanitized
 * URL, a few harmless headers, the client address, status and time, and the unexpected error the problem
 * filter attached (so an error is logged once, on its request's line). Probes and scrapes are not logged.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger as Pino } from 'pino';
import { serializeRequest } from './redaction';

/** Probes and scrapes are frequent and uninteresting (failed probes are logged by terminus). */
const UNLOGGED = new Set(['/health/live', '/health/ready', '/health/startup', '/metrics']);

const logged = new WeakSet<FastifyRequest>();
const errors = new WeakMap<FastifyRequest, Error>();

function path(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Whether this request gets an access-log line (then an error belongs on it, not on a line of its own). */
export function isAccessLogged(request: FastifyRequest): boolean {
  return logged.has(request);
}

/** Puts an unexpected error on the request's access-log line. */
export function attachErrorToAccessLog(request: FastifyRequest, err: Error): void {
  errors.set(request, err);
}

export function installAccessLog(fastify: FastifyInstance, logger: Pino): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (!UNLOGGED.has(path(request.url))) logged.add(request);
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    if (!logged.has(request)) {
      done();
      return;
    }
    const err = errors.get(request);
    const status = reply.statusCode;
    const line: Record<string, unknown> = {
      request_id: request.id,
      req: serializeRequest({
        method: request.method,
        url: request.url,
        headers: request.headers,
        remoteAddress: request.ip,
      }),
      res: { statusCode: status },
      responseTime: Math.round(reply.elapsedTime),
    };
    if (err !== undefined) line.err = err;
    if (err !== undefined || status >= 500) logger.error(line, 'request errored');
    else logger.info(line, 'request completed');
    done();
  });
}
