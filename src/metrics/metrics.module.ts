/**
 * metrics: the Prometheus registry of the process (MetricsService, global). Both processes serve it at
 * /metrics on their management listener (src/health/worker-health.server.ts), never on the public one.
 */
import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

@Global()
@Module({
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
