/**
 * The application/json body parser: Fastify's own (secure-json-parse, prototype poisoning refused) behind
 * a linear, non-recursive scan that refuses nesting deeper than MAX_JSON_DEPTH with a 400. No body of this
 * API nests more than two levels; a deep one would otherwise reach class-transformer's recursion.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';
import { AppError } from '../common/app-error';

export const MAX_JSON_DEPTH = 16;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The deepest nesting of objects and arrays in a JSON text (strings skipped), stopping past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return deepest;
}

export function tooDeep(): AppError {
  return new AppError({
    code: 'request.too_deep',
    status: 400,
    title: 'Invalid request',
    detail: `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`,
  });
}

/** Registers the parser through Nest (which would otherwise register Fastify's plain one at init). */
export function useDepthLimitedJsonParser(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parse = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>('application/json', { bodyLimit }, (request, body, done) => {
    const text = body.toString('utf8');
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      done(tooDeep(), undefined);
      return;
    }
    void parse(request, text, done);
  });
}
