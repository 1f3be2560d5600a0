/**
 * metrics: the Prometheus registry of the process (MetricsService, global) and GET /metrics on the API.
 * The worker serves the same registry from its health server (src/health/worker-health.server.ts).
 */
import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
