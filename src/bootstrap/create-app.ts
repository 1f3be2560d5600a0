/**
 * Builds the API application on Fastify without listening: main.ts listens on PORT, e2e tests on port 0.
 * Everything HTTP-wide lives here: body limits (JSON and multipart, each received whole), receive timeouts and the slowest body,
 * proxy trust, request ids, security headers, authentication before the body, the JSON depth limit,
 * /api prefix and URI versioning, validation, the problem+json filter, metrics, docs and the drain.
 */
import { RequestMethod, VersioningType, type DynamicModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger as PinoLogger } from 'pino';
import { installEarlyAuth } from '../auth/early-auth.hook';
import { JwtStrategy } from '../auth/jwt.strategy';
import { HttpSettings } from '../config/http.settings';
import { loadSettings } from '../config/load-settings';
import { installAccessLog } from '../common/logging/access-log.hook';
import { ROOT_LOGGER } from '../common/logging/logging.module';
import { PinoNestLogger } from '../common/logging/pino-nest.logger';
import { ProblemFilter } from '../common/problem/problem.filter';
import { createValidationPipe } from '../common/validation.pipe';
import { ImageSettings } from '../image/image.settings';
import { installHttpMetrics } from '../metrics/http-metrics.hook';
import { MetricsService } from '../metrics/metrics.service';
import { setupDocs } from './docs';
import { DrainingFastifyAdapter } from './draining-fastify.adapter';
import { useDepthLimitedJsonParser } from './json-body.parser';
import { useBufferedMultipartParser } from './multipart-body.parser';
import { requestIdFor } from './request-id';
import { installLingeringClose } from './lingering-close';
import { installMinimumBodyRate, requestLimitOptions } from './request-limits';
import { installResponseHeaders, registerSecurityHeaders } from './security-headers';

export const API_PREFIX = 'api';

/**
 * Trust exactly `hops` proxies in front of the API: the client address is the entry of X-Forwarded-For
 * that many hops back. Fastify's numeric trustProxy now trusts nobody, hence the function.
 */
export function trustProxyHops(hops: number): false | ((address: string, hop: number) => boolean) {
  return hops > 0 ? (_address, hop) => hop < hops : false;
}

export interface CreateAppOptions {
  /** The root module; AppModule unless a test brings its own composition. */
  module?: Type<unknown> | DynamicModule;
}

export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  // Read before Nest exists: the adapter needs them. A bad value throws a ConfigError naming it.
  const http = loadSettings(HttpSettings);
  const image = loadSettings(ImageSettings);

  const adapter = new DrainingFastifyAdapter(
    {
      logger: false,
      trustProxy: trustProxyHops(http.TRUST_PROXY_HOPS),
      // JSON bodies carry base64 images: 4/3 of the largest upload plus the other fields.
      bodyLimit: image.maxJsonBodyBytes,
      genReqId: requestIdFor,
      return503OnClosing: false,
      // multipart/form-data is received whole by our own parser (useBufferedMultipartParser), not streamed.
      multipart: false,
      ...requestLimitOptions(http),
    },
    http.SHUTDOWN_DRAIN_TIMEOUT_MS,
  );

  const app = await NestFactory.create<NestFastifyApplication>(
    options.module ?? (await rootModule()),
    adapter,
    {
      bufferLogs: true,
      abortOnError: false,
    },
  );
  const logger = app.get(PinoNestLogger, { strict: false, optional: true } as never) as
    PinoNestLogger | undefined;
  if (logger) app.useLogger(logger);
  else app.flushLogs();

  const fastify = app.getHttpAdapter().getInstance();
  const rootLogger = logger ? app.get<PinoLogger>(ROOT_LOGGER, { strict: false }) : undefined;
  // First: a request pipelined behind an answer with Connection: close is dropped before any other hook.
  installLingeringClose(fastify);
  if (rootLogger) installAccessLog(fastify, rootLogger);
  registerSecurityHeaders(app);
  installResponseHeaders(fastify);
  adapter.installDrainHook(fastify);
  // After the security headers (a 401 carries them), before the body is read.
  const strategy = app.get(JwtStrategy, { strict: false, optional: true } as never) as
    JwtStrategy | undefined;
  if (strategy) installEarlyAuth(fastify, strategy);
  installMinimumBodyRate(fastify, http, rootLogger);
  useDepthLimitedJsonParser(app, image.maxJsonBodyBytes);
  useBufferedMultipartParser(fastify, image.maxMultipartBodyBytes);
  installHttpMetrics(fastify, app.get(MetricsService, { strict: false }));

  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'health/startup', method: RequestMethod.GET },
    ],
  });
  app.enableVersioning({ type: VersioningType.URI });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemFilter());
  setupDocs(app);
  return app;
}

/**
 * AppModule, imported when the app is created: feature modules read their settings when they are
 * defined (the queue name is part of the BullMQ decorators), so a bad setting must throw inside main's
 * error handling, not at import.
 */
async function rootModule(): Promise<Type> {
  return (await import('../app.module')).AppModule;
}
