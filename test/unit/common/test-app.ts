/**
 * Test helpers of the platform: a Nest app with the platform modules and a test-only controller, built by
 * the real createApp() (same adapter, hooks, filter, pipes), with the environment it reads set for it.
 */
import { Module, type ModuleMetadata, type Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuthModule } from '../../../src/auth/auth.module';
import { createApp } from '../../../src/bootstrap/create-app';
import { LogCapture } from '../../../src/common/logging/log-sink';
import { LoggingModule } from '../../../src/common/logging/logging.module';
import { PlatformConfigModule } from '../../../src/config/platform-config.module';
import { HealthModule } from '../../../src/health/health.module';
import { MetricsModule } from '../../../src/metrics/metrics.module';
import { ThrottlingModule } from '../../../src/throttling/throttling.module';

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnop';
export const ISSUER = 'captioner-test';
export const AUDIENCE = 'captioner-api-test';

/** The environment every platform test starts from; tests override single variables. */
export const BASE_ENV: Record<string, string | undefined> = {
  JWT_SECRET: TEST_SECRET,
  JWT_PUBLIC_KEY: undefined,
  JWT_JWKS_URL: undefined,
  JWT_PRIVATE_KEY: undefined,
  JWT_ISSUER: ISSUER,
  JWT_AUDIENCE: AUDIENCE,
  REDIS_URL: undefined,
  CACHE_REDIS_URL: undefined,
  RATE_LIMIT_LIMIT: '1000',
  RATE_LIMIT_TTL_SECONDS: '60',
  LOG_LEVEL: 'info',
  TRUST_PROXY_HOPS: '0',
  MAX_UPLOAD_BYTES: undefined,
  SHUTDOWN_DRAIN_TIMEOUT_MS: undefined,
};

/** Sets variables (undefined unsets) and returns a function that restores the previous values. */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const previous: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(vars)) {
    previous[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

export interface TestApp {
  app: NestFastifyApplication;
  logs: LogCapture;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string | undefined>;
  controllers?: Type<unknown>[];
  providers?: ModuleMetadata['providers'];
  /** Listen on an ephemeral loopback port (default: inject only). */
  listen?: boolean;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const restoreEnv = setEnv({ ...BASE_ENV, ...options.env });
  const logs = new LogCapture();
  @Module({
    imports: [
      PlatformConfigModule,
      LoggingModule.forRoot(),
      MetricsModule,
      AuthModule,
      ThrottlingModule,
      HealthModule,
    ],
    controllers: options.controllers ?? [],
    providers: options.providers ?? [],
  })
  class PlatformTestModule {}

  let app: NestFastifyApplication;
  try {
    app = await createApp({ module: PlatformTestModule });
    if (options.listen) await app.listen({ port: 0, host: '127.0.0.1' });
    else await app.init();
  } catch (err) {
    restoreEnv();
    logs.stop();
    throw err;
  }
  return {
    app,
    logs,
    close: async () => {
      try {
        await app.close();
      } finally {
        restoreEnv();
        logs.stop();
      }
    },
  };
}
