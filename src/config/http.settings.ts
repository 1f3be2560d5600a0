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
