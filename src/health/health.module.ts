/**
 * health: liveness, readiness and startup probes (@nestjs/terminus) on the API (HealthController) and on
 * the worker (startWorkerHealthServer). Indicators come from whatever this process has: the caption
 * cache, the job queue and the model are all optional.
 */
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthChecks } from './health-checks.service';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [HealthChecks],
  exports: [HealthChecks],
})
export class HealthModule {}
