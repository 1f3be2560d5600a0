/**
 * Maps anything thrown while serving a request to a problem: coded domain errors, Nest HTTP exceptions,
 * Fastify's errors. Anything else is unexpected: a generic 500, never its message.
 */
import { HttpException, NotFoundException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { AppError, type ProblemShape } from '../app-error';
import { catalogEntry } from './problem-catalog';

export interface MappedProblem {
  problem: ProblemShape;
  /** True for errors nobody anticipated: they get an error id and are logged with their stack. */
  unexpected: boolean;
}

/** Codes and titles by status, for exceptions that carry only a status. */
const BY_STATUS: Record<number, { code: string; title: string }> = {
  400: { code: 'request.bad_request', title: 'Bad request' },
  401: { code: 'auth.unauthorized', title: 'Unauthorized' },
  403: { code: 'auth.forbidden', title: 'Forbidden' },
  404: { code: 'http.not_found', title: 'Not found' },
  405: { code: 'http.method_not_allowed', title: 'Method not allowed' },
  406: { code: 'http.not_acceptable', title: 'Not acceptable' },
  408: { code: 'http.request_timeout', title: 'Request timeout' },
  409: { code: 'http.conflict', title: 'Conflict' },
  410: { code: 'http.gone', title: 'Gone' },
  411: { code: 'request.length_required', title: 'Length required' },
  413: { code: 'request.too_large', title: 'Request too large' },
  414: { code: 'request.uri_too_long', title: 'URI too long' },
  415: { code: 'request.unsupported_media_type', title: 'Unsupported media type' },
  422: { code: 'request.unprocessable', title: 'Unprocessable content' },
  429: { code: 'rate_limit.exceeded', title: 'Too many requests' },
  431: { code: 'request.headers_too_large', title: 'Request header fields too large' },
  500: { code: 'internal', title: 'Internal server error' },
  502: { code: 'service.bad_gateway', title: 'Bad gateway' },
  503: { code: 'service.unavailable', title: 'Service unavailable' },
  504: { code: 'service.timeout', title: 'Gateway timeout' },
};

function byStatus(status: number): { code: string; title: string } {
  return BY_STATUS[status] ?? { code: status >= 500 ? 'internal' : `http.${status}`, title: 'Error' };
}

/** Fastify's own error codes, with the status and wording this API uses. */
const FASTIFY_PROBLEMS: Record<string, { status: number; code: string; title: string; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'request.too_large',
    title: 'Request too large',
    detail: 'The request body is larger than this server accepts.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'request.unsupported_media_type',
    title: 'Unsupported media type',
    detail: 'Send multipart/form-data or application/json.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'request.bad_content_length',
    title: 'Bad request',
    detail: 'The Content-Length does not match the body.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'request.malformed_json',
    title: 'Malformed JSON',
    detail: 'The JSON body is empty.',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'request.malformed_json',
    title: 'Malformed JSON',
    detail: 'The body is not valid JSON.',
  },
};

interface CodedError {
  code?: unknown;
  statusCode?: unknown;
  status?: unknown;
  message?: unknown;
}

function httpExceptionDetail(exception: HttpException, status: number): string {
  const response = exception.getResponse();
  const message =
    typeof response === 'string'
      ? response
      : typeof response === 'object' && response !== null && 'message' in response
        ? (response as { message: unknown }).message
        : undefined;
  if (typeof message === 'string' && message.length > 0) return message;
  if (Array.isArray(message) && message.every((m) => typeof m === 'string')) return message.join('; ');
  return status === 404 ? 'The requested resource does not exist.' : byStatus(status).title;
}

/** Fastify's errors: client mistakes with a status of their own. */
function fromCodedError(error: unknown): ProblemShape | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as CodedError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const known = code !== undefined ? FASTIFY_PROBLEMS[code] : undefined;
  if (known) return { code: known.code, status: known.status, title: known.title, detail: known.detail };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (error instanceof SyntaxError && status === 400) {
    return {
      code: 'request.malformed_json',
      status: 400,
      title: 'Malformed JSON',
      detail: 'The body is not valid JSON.',
    };
  }
  if (code?.startsWith('FST_') && status !== undefined && status >= 400 && status < 500) {
    const { code: problemCode, title } = byStatus(status);
    return { code: problemCode, status, title, detail: typeof e.message === 'string' ? e.message : title };
  }
  return undefined;
}

/** An Error whose string `code` is in the problem catalog. */
function codedErrorOf(
  exception: unknown,
): { code: string; message: string; entry: { status: number; title: string } } | undefined {
  if (!(exception instanceof Error)) return undefined;
  const code = (exception as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  const entry = catalogEntry(code);
  return entry === undefined ? undefined : { code, message: exception.message, entry };
}

export function toProblem(exception: unknown): MappedProblem {
  if (exception instanceof AppError) return { problem: exception.problem, unexpected: false };

  // Coded errors of the modules (ModelError, ImageError, ...): their status and title are catalogued.
  const coded = codedErrorOf(exception);
  if (coded !== undefined) {
    const { status, title } = coded.entry;
    // A server-side failure is ours, not the client's: no internals in the answer.
    const detail = status >= 500 && status !== 503 ? 'Captioning failed.' : coded.message;
    return {
      problem: { code: coded.code, status, title, detail },
      unexpected: status >= 500 && status !== 503,
    };
  }

  if (exception instanceof ThrottlerException) {
    return {
      problem: {
        code: 'rate_limit.exceeded',
        status: 429,
        title: 'Too many requests',
        detail:
          'The rate limit of this client was exceeded; retry after the number of seconds in Retry-After.',
      },
      unexpected: false,
    };
  }

  // Nest's Fastify adapter wraps Fastify's 4xx errors in an HttpException; the coded cause says more.
  const cause = exception instanceof HttpException ? exception.cause : undefined;
  const framework = fromCodedError(cause) ?? fromCodedError(exception);
  if (framework) return { problem: framework, unexpected: false };

  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const { code, title } = byStatus(status);
    // Nest's router answers unknown routes with "Cannot GET /path?query": do not echo the URL back.
    const detail =
      exception instanceof NotFoundException && /^Cannot [A-Z]+ /.test(exception.message)
        ? 'No route matches this method and path.'
        : status === 500
          ? 'An unexpected error occurred.'
          : httpExceptionDetail(exception, status);
    return { problem: { code, status, title, detail }, unexpected: status === 500 };
  }

  return {
    problem: {
      code: 'internal',
      status: 500,
      title: 'Internal server error',
      detail: 'An unexpected error occurred.',
    },
    unexpected: true,
  };
}
