/**
 * API process entry point: HTTP on Fastify. A bad setting stops it with exit code 1 and the variable
 * named on stderr (never its value when it is a secret). SIGTERM/SIGINT drain in-flight requests first.
 */
import { Logger } from '@nestjs/common';
import { AuthSettings } from './auth/auth.settings';
import { createApp } from './bootstrap/create-app';
import { checkQueueRedisPolicy } from './bootstrap/queue-redis-policy';
import { HttpSettings } from './config/http.settings';
import { startManagementServer } from './health/worker-health.server';
import { ConfigError, loadSettings } from './config/load-settings';
import { RedisSettings } from './config/redis.settings';
import { validateAllSettings } from './config/validate-settings';
import { ImageSettings } from './image/image.settings';
import { RateLimitSettings } from './throttling/rate-limit.settings';

async function main(): Promise<void> {
  // The platform's own settings, all at once; feature modules validate theirs when Nest builds them.
  validateAllSettings([HttpSettings, AuthSettings, RateLimitSettings, RedisSettings, ImageSettings]);
  const http = loadSettings(HttpSettings);
  const app = await createApp();
  await checkQueueRedisPolicy(loadSettings(RedisSettings));
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen({ port: http.PORT, host: http.HOST });
  new Logger('Main').log(`API listening on http://${http.HOST}:${http.PORT}`);
  // /metrics (and the probes) off the public listener; it lives until the process exits.
  await startManagementServer(app, http.MANAGEMENT_PORT, http.MANAGEMENT_HOST);
}

function configErrorIn(err: unknown): ConfigError | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ConfigError) return e;
  }
  return undefined;
}

main().catch((err: unknown) => {
  const config = configErrorIn(err);
  if (config) {
    process.stderr.write(`captioner: ${config.message}\n`);
  } else {
    process.stderr.write(
      `captioner: start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
