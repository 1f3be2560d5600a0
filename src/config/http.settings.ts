import { IsIn, IsInt, IsString, Max, Min, MinLength } from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings of the HTTP listener (API), the worker's health port and logging (both processes). */
export class HttpSettings {
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @MinLength(1)
  HOST = '0.0.0.0';

  /** Proxy hops in front of the API whose X-Forwarded-For is trusted; 0 trusts none. */
  @IsInt()
  @Min(0)
  @Max(10)
  TRUST_PROXY_HOPS = 0;

  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_HEALTH_PORT = 3001;

  /**
   * The listener of /metrics and the probes (both processes), apart from the public one: loopback by
   * default, so only the pod itself (or a sidecar) can scrape; the chart sets 0.0.0.0 and lets only the
   * scraper in with a NetworkPolicy.
   */
  @IsInt()
  @Min(0)
  @Max(65535)
  MANAGEMENT_PORT = 9464;

  @IsString()
  @MinLength(1)
  MANAGEMENT_HOST = '127.0.0.1';

  /** Longest time a client may take to send the request line and headers; then 408 and closed. */
  @IsInt()
  @Min(1000)
  @Max(600_000)
  HTTP_HEADERS_TIMEOUT_MS = 10_000;

  /**
   * Longest time a client may take to send a whole request, body included; then 408 and closed. The
   * headers timeout is capped by it.
   */
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  HTTP_REQUEST_TIMEOUT_MS = 120_000;

  /**
   * Slowest body accepted: a request body arriving at fewer bytes per second than this over a window of
   * HTTP_BODY_RATE_WINDOW_MS gets its connection closed. 0 turns the check off.
   */
  @IsInt()
  @Min(0)
  @Max(1_073_741_824)
  HTTP_BODY_MIN_BYTES_PER_SECOND = 4096;

  @IsInt()
  @Min(500)
  @Max(600_000)
  HTTP_BODY_RATE_WINDOW_MS = 5000;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  /**
   * On SIGTERM the API answers new requests with 503 and waits this long for in-flight ones before it
   * closes; keep it below the orchestrator's grace period (Kubernetes: 30 s by default).
   */
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_DRAIN_TIMEOUT_MS = 25_000;
}
