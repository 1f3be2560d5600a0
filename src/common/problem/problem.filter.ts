/**
 * The one global exception filter: every error of an HTTP request leaves as RFC 9457
 * application/problem+json with the request id. Unexpected errors get a generic 500 with an error id and
 * are logged exactly once, with their stack, on the request's completion log line.
 */
import { randomUUID } from 'node:crypto';
import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProblemShape } from '../app-error';
import { attachErrorToAccessLog, isAccessLogged } from '../logging/access-log.hook';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem';
import { toProblem } from './to-problem';

const MAX_INSTANCE_LENGTH = 512;

/** The path of the request, without its query (which may hold secrets) and bounded in length. */
export function requestInstance(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const path = url.split('?')[0] ?? '';
  return path.length > MAX_INSTANCE_LENGTH ? path.slice(0, MAX_INSTANCE_LENGTH) : path;
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();

    const { problem, unexpected } = toProblem(exception);
    let shape: ProblemShape = problem;
    if (unexpected) {
      const errorId = randomUUID();
      shape = {
        ...problem,
        detail: `${problem.detail} Quote error id ${errorId} when reporting it.`,
        extra: { ...problem.extra, error_id: errorId },
      };
      this.logOnce(exception, errorId, request);
    }

    if (reply.sent || reply.raw.headersSent) {
      // Too late for a problem body (a stream broke mid-way): end the response so the client sees it fail.
      if (!unexpected)
        this.logger.warn({ request_id: request.id, status: shape.status }, 'error after response start');
      reply.raw.destroy();
      return;
    }

    const headers: Record<string, string> = { ...shape.headers };
    if (
      shape.status === 401 &&
      reply.getHeader('www-authenticate') === undefined &&
      !headers['WWW-Authenticate']
    ) {
      headers['WWW-Authenticate'] = 'Bearer realm="captioner"';
    }
    const body = problemBody(shape, { instance: requestInstance(request.url), requestId: request.id });
    void reply.code(shape.status).headers(headers).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
  }

  private logOnce(exception: unknown, errorId: string, request: FastifyRequest): void {
    const err = exception instanceof Error ? exception : new Error(`non-error thrown: ${String(exception)}`);
    try {
      Object.assign(err, { error_id: errorId });
    } catch {
      // A frozen error keeps its shape; the id still goes to the client and the log line below.
    }
    if (isAccessLogged(request)) {
      attachErrorToAccessLog(request, err);
      return;
    }
    this.logger.error(
      {
        err,
        error_id: errorId,
        request_id: request.id,
        method: request.method,
        url: requestInstance(request.url),
      },
      'unexpected error',
    );
  }
}
