/**
 * Security headers on every answer (errors and 404s included): @fastify/helmet with a locked-down CSP for
 * the JSON API, a relaxed one for the Swagger UI only; `Cache-Control: no-store` and the request id.
 */
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

export const API_HELMET: FastifyHelmetOptions = {
  global: true,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
  },
  strictTransportSecurity: { maxAge: ONE_YEAR_SECONDS, includeSubDomains: true },
  xFrameOptions: { action: 'deny' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  referrerPolicy: { policy: 'no-referrer' },
};

/** Route-level helmet options for /docs: Swagger UI needs its own scripts, styles and data: images. */
export const DOCS_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
    },
  },
};

export async function registerSecurityHeaders(app: NestFastifyApplication): Promise<void> {
  await app.register(helmet, API_HELMET);
}

/** Request id on every answer; no caching of anything but the static Swagger UI assets. */
export function installResponseHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader('x-request-id', request.id);
    if (!request.url.startsWith('/docs/')) reply.raw.setHeader('cache-control', 'no-store');
    done();
  });
}
