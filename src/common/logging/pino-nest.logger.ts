/**
 * Nest's LoggerService on one pino logger: Nest's calling conventions (context as the last argument,
 * an object or an Error as the first, the exception handlers' `(message, stack, context)`) mapped onto
 * pino's `(object, message)`. Replaces nestjs-pino, whose per-request middleware (pino-http through
 * middie, and an AsyncLocalStorage context) cost about a quarter of the API's CPU on the cache-hit path;
 * access logging is a Fastify hook instead (access-log.hook.ts).
 */
import type { LoggerService } from '@nestjs/common';
import type { Logger as Pino } from 'pino';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const STACK = /\n\s*at /;

export class PinoNestLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.call('trace', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.call('debug', message, params);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.call('info', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.call('warn', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.call('error', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.call('fatal', message, params);
  }

  private call(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    let rest = params;
    // Nest's Logger appends its context as the last argument.
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') {
      fields.context = rest[rest.length - 1];
      rest = rest.slice(0, -1);
    }
    if (message instanceof Error) {
      fields.err = message;
      this.pino[level](fields, ...(rest as []));
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...message }, ...(rest as []));
    } else if (level === 'error' && rest.length === 1 && typeof rest[0] === 'string' && STACK.test(rest[0])) {
      // ExceptionsHandler and friends: error(message, stack)
      const err = new Error(String(message));
      err.stack = rest[0];
      this.pino.error({ ...fields, err });
    } else {
      this.pino[level](fields, String(message), ...(rest as []));
    }
  }
}
