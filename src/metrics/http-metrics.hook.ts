import type { FastifyInstance } from 'fastify';
import type { MetricsService } from './metrics.service';

/** Label for requests that matched no route, so random URLs cannot blow up the label cardinality. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Observes every response in `http_request_duration_seconds`, by route pattern (never the raw URL). */
export function installHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
