/**
 * Structured JSON logs with pino for both processes: level from LOG_LEVEL, credentials and image bytes
 * redacted, one pino logger per process writing to the process-wide logSink. Nest's own logs go through
 * PinoNestLogger (`app.useLogger(app.get(PinoNestLogger))`); the API's access log is a Fastify hook
 * (access-log.hook.ts, installed by createApp) that writes through the same logger (ROOT_LOGGER).
 */
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { pino, stdSerializers, stdTimeFunctions, type LoggerOptions } from 'pino';
import { HttpSettings, type LogLevel } from '../../config/http.settings';
import { provideSettings } from '../../config/provide-settings';
import { logSink } from './log-sink';
import { PinoNestLogger } from './pino-nest.logger';
import { REDACT_PATHS, REDACTED, redactJwts, redactLogObject, redactSerialized } from './redaction';

/** Injection token of the process's pino logger. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { err: (err: Error) => redactSerialized(stdSerializers.err(err)) },
    formatters: { log: redactLogObject },
    // The message string too: a token must not reach the log whichever argument carries it.
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? redactJwts(arg) : arg)) as typeof args,
        );
      },
    },
  };
}

@Global()
@Module({})
export class LoggingModule {
  static forRoot(): DynamicModule {
    return {
      module: LoggingModule,
      providers: [
        provideSettings(HttpSettings),
        {
          provide: ROOT_LOGGER,
          inject: [HttpSettings],
          useFactory: (http: HttpSettings) => pino(loggerOptions(http.LOG_LEVEL), logSink),
        },
        {
          provide: PinoNestLogger,
          inject: [ROOT_LOGGER],
          useFactory: (logger: pino.Logger) => new PinoNestLogger(logger),
        },
      ],
      exports: [ROOT_LOGGER, PinoNestLogger],
    };
  }
}
