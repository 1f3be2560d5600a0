/**
 * Bounded time per request, and errors made below the application. Node's HTTP server times out the
 * request line and headers (HTTP_HEADERS_TIMEOUT_MS) and the whole request (HTTP_REQUEST_TIMEOUT_MS),
 * checked every second; a hook closes the connection of a body arriving slower than
 * HTTP_BODY_MIN_BYTES_PER_SECOND over a window. What Node's parser or Fastify's router refuses before any
 * route runs (431, 414, 408, a malformed request, a bad URL) is answered as problem+json with the same
 * security headers as every other answer, and nothing of the request echoed.
 */
import { STATUS_CODES, type IncomingMessage, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Logger as Pino } from 'pino';
import type { HttpSettings } from '../config/http.settings';
import { PROBLEM_CONTENT_TYPE, problemType } from '../common/problem/problem';
import { lingeringClose } from './lingering-close';
import { API_HELMET, helmetHeaders } from './security-headers';

/** How often Node looks for requests past their timeouts (its default, 30 s, would let them overrun). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

type Limits = Pick<
  HttpSettings,
  | 'HTTP_HEADERS_TIMEOUT_MS'
  | 'HTTP_REQUEST_TIMEOUT_MS'
  | 'HTTP_BODY_MIN_BYTES_PER_SECOND'
  | 'HTTP_BODY_RATE_WINDOW_MS'
>;

interface BelowAppProblem {
  status: number;
  code: string;
  detail: string;
}

const PROBLEMS: Record<string, BelowAppProblem> = {
  timeout: {
    status: 408,
    code: 'request.timeout',
    detail: 'The request was not received in time; the connection is closed.',
  },
  headers: {
    status: 431,
    code: 'request.headers_too_large',
    detail: 'The request line and headers are larger than this server accepts.',
  },
  uri: {
    status: 414,
    code: 'request.uri_too_long',
    detail: 'The request URI is longer than this server accepts.',
  },
  malformed: { status: 400, code: 'request.malformed', detail: 'The request is not valid HTTP/1.1.' },
  badUrl: { status: 400, code: 'request.bad_url', detail: 'The request URL is not valid.' },
  internal: { status: 500, code: 'internal', detail: 'The request could not be routed.' },
};

/** The problem+json body and headers of a refusal below the application (no instance: nothing echoed). */
export function belowAppAnswer(p: BelowAppProblem): { headers: [string, string][]; body: string } {
  const body = JSON.stringify({
    type: problemType(p.code),
    title: STATUS_CODES[p.status] ?? 'Error',
    status: p.status,
    detail: p.detail,
  });
  return {
    body,
    headers: [
      ...helmetHeaders(API_HELMET),
      ['cache-control', 'no-store'],
      ['content-type', PROBLEM_CONTENT_TYPE],
      ['content-length', String(Buffer.byteLength(body))],
      ['connection', 'close'],
    ],
  };
}

function clientErrorProblem(code: string | undefined): BelowAppProblem {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return PROBLEMS.timeout;
  if (code === 'HPE_HEADER_OVERFLOW') return PROBLEMS.headers;
  return PROBLEMS.malformed;
}

/** Node's `clientError`: a parse error or a timeout on a connection. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way (the request timed out while its answer is written): just close.
  const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inProgress?.headersSent) {
    const { status } = clientErrorProblem(err.code);
    const { headers, body } = belowAppAnswer(clientErrorProblem(err.code));
    const head = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${head}\r\n${body}`);
  }
  // Half-close after the answer; what the client is still sending is read and dropped, not reset.
  lingeringClose(socket);
}

/** Fastify's router refusals (bad URL encoding, a parameter too long, a failed constraint). */
export function frameworkErrors(
  error: { code?: string },
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const problem =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? PROBLEMS.uri
      : error.code === 'FST_ERR_BAD_URL'
        ? PROBLEMS.badUrl
        : PROBLEMS.internal;
  const { headers, body } = belowAppAnswer(problem);
  void reply.code(problem.status).headers(Object.fromEntries(headers)).send(body);
}

/** Fastify server options for the limits above (merge into the adapter's options). */
export function requestLimitOptions(limits: Limits): Partial<FastifyServerOptions> {
  const http: ServerOptions = {
    headersTimeout: Math.min(limits.HTTP_HEADERS_TIMEOUT_MS, limits.HTTP_REQUEST_TIMEOUT_MS),
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
  return {
    http,
    requestTimeout: limits.HTTP_REQUEST_TIMEOUT_MS,
    clientErrorHandler,
    frameworkErrors,
  } as Partial<FastifyServerOptions>;
}

function hasBody(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  return req.headers['transfer-encoding'] !== undefined || length > 0;
}

/**
 * Closes the connection of a request whose body arrives slower than the minimum rate, window after
 * window, until the body is complete. Counts the socket's bytes, so the body stream is left alone.
 */
export function installMinimumBodyRate(fastify: FastifyInstance, limits: Limits, logger?: Pino): void {
  const rate = limits.HTTP_BODY_MIN_BYTES_PER_SECOND;
  const windowMs = limits.HTTP_BODY_RATE_WINDOW_MS;
  if (rate === 0) return;
  const minimum = (rate * windowMs) / 1000;
  fastify.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    const socket = raw.socket as Socket | null;
    if (!socket || !hasBody(raw)) {
      done();
      return;
    }
    let last = socket.bytesRead;
    const timer = setInterval(() => {
      if (raw.complete || socket.destroyed) {
        clearInterval(timer);
        return;
      }
      const received = socket.bytesRead - last;
      last = socket.bytesRead;
      if (received >= minimum) return;
      clearInterval(timer);
      logger?.warn(
        { request_id: request.id, received_bytes: received, window_ms: windowMs },
        'request body too slow: connection closed',
      );
      socket.destroy();
    }, windowMs);
    timer.unref();
    const stop = (): void => clearInterval(timer);
    raw.once('close', stop);
    reply.raw.once('close', stop);
    done();
  });
}
