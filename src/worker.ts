/**
 * Worker process entry point: `node dist/worker.js`. Loads and warms the model (ModelModule init), then
 * announces it, serves the probes on HOST:WORKER_HEALTH_PORT and /metrics (with the probes) on
 * MANAGEMENT_HOST:MANAGEMENT_PORT, and starts consuming. SIGTERM/SIGINT: stop
 * taking jobs, finish the active ones (BullMQ worker.close), then close everything and exit.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { checkQueueRedisPolicy } from './bootstrap/queue-redis-policy';
import { PinoNestLogger } from './common/logging/pino-nest.logger';
import { HttpSettings } from './config/http.settings';
import { ConfigError } from './config/load-settings';
import { RedisSettings } from './config/redis.settings';
import { startManagementServer, startWorkerHealthServer } from './health/worker-health.server';
import { ModelAnnouncer } from './jobs/model-announcer';
import { QueueConsumers } from './jobs/queue-consumers';
import { CAPTION_MODEL, type CaptionModel } from './model/caption-model.port';

async function main(): Promise<void> {
  // Imported here: the module reads its settings when defined, and a bad one must end in main's catch.
  const { WorkerModule } = await import('./worker.module');
  const app = await NestFactory.createApplicationContext(WorkerModule, {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(PinoNestLogger));
  const logger = new Logger('Worker');
  await checkQueueRedisPolicy(app.get(RedisSettings));
  const model = app.get<CaptionModel>(CAPTION_MODEL);
  const info = model.info();
  logger.log(`model ${info.id} ${info.version} ready (${info.executionProvider})`);

  const http = app.get(HttpSettings);
  const health = await startWorkerHealthServer(app, http.WORKER_HEALTH_PORT, http.HOST);
  const management = await startManagementServer(app, http.MANAGEMENT_PORT, http.MANAGEMENT_HOST);
  const announcer = app.get(ModelAnnouncer);
  const worker = app.get(QueueConsumers);
  announcer.start(info);
  await worker.start();

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: finishing active jobs, then exiting`);
    const started = Date.now();
    void (async () => {
      announcer.stop();
      await worker.close();
      await health.close();
      await management.close();
      await app.close();
      logger.log(`stopped in ${Date.now() - started} ms`);
      process.exit(0);
    })().catch((err: unknown) => {
      logger.error(`shutdown failed: ${String(err)}`);
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Logged plainly: the failure may precede the logger (e.g. a bad setting or a bad bundle).
  const detail =
    err instanceof ConfigError
      ? err.message
      : err instanceof Error
        ? (err.stack ?? err.message)
        : String(err);
  process.stderr.write(`worker failed to start: ${detail}\n`);
  process.exit(1);
});
