/**
 * API process entry point: HTTP on Fastify. A bad setting stops it with exit code 1 and the variable
 * named on stderr (never its value when it is a secret). SIGTERM/SIGINT drain in-flight requests first.
 */
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap/create-app';
import { HttpSettings } from './config/http.settings';
import { ConfigError, loadSettings } from './config/load-settings';

async function main(): Promise<void> {
  const http = loadSettings(HttpSettings);
  const app = await createApp();
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen({ port: http.PORT, host: http.HOST });
  new Logger('Main').log(`API listening on http://${http.HOST}:${http.PORT}`);
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
