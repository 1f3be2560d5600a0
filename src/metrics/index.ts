export { MetricsModule } from './metrics.module';
export { MetricsService } from './metrics.service';
export { installHttpMetrics, UNMATCHED_ROUTE } from './http-metrics.hook';
