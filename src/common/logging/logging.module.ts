/**
 * Structured JSON logs with pino (nestjs-pino) for both processes: level from LOG_LEVEL, request id on every
 * line of a request, credentials and image bytes redacted. Use `app.useLogger(app.get(Logger))` (Logger
 * from nestjs-pino) after creating the application, so Nest's own logs go the same way.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module, RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { stdTimeFunctions } from 'pino';
import type { Options } from 'pino-http';
import { HttpSettings, type LogLevel } from '../../config/http.settings';
import { provideSettings } from '../../config/provide-settings';
import { logSink } from './log-sink';
import { REDACT_PATHS, REDACTED, redactLogObject, serializeRequest } from './redaction';

/** Probes and scrapes are frequent and uninteresting: no access log (failed probes are logged by terminus). */
const UNLOGGED_ROUTES = ['health/live', 'health/ready', 'health/startup', 'metrics'].map((path) => ({
  path,
  method: RequestMethod.GET,
}));

export function pinoHttpOptions(level: LogLevel): Options {
  return {
    level,
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: {
      req: serializeRequest,
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    formatters: { log: redactLogObject },
    customAttributeKeys: { reqId: 'request_id' },
    quietReqLogger: true,
    // Fastify assigned the id (see bootstrap/request-id.ts); middie copies it onto the raw request.
    genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? randomUUID(),
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
      err || res.statusCode >= 500 ? 'error' : 'info',
  };
}

@Module({})
export class LoggingModule {
  static forRoot(): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          providers: [provideSettings(HttpSettings)],
          inject: [HttpSettings],
          useFactory: (http: HttpSettings) => ({
            pinoHttp: [pinoHttpOptions(http.LOG_LEVEL), logSink],
            exclude: UNLOGGED_ROUTES,
          }),
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
