export { HealthModule } from './health.module';
export { HealthChecks, type HealthReport } from './health-checks.service';
export { startWorkerHealthServer, type WorkerHealthServer } from './worker-health.server';
