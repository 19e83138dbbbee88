import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

const SDK_LEVELS: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/** Routes the Temporal SDK's own logs (worker, webpack bundler, Rust core) into the process's pino logger. */
export function installTemporalLogging(logger: Logger): void {
  const level = SDK_LEVELS[logger.level] ?? 'INFO';
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
      const method = entryLevel.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      logger[
        method === 'trace' || method === 'debug' || method === 'info' || method === 'warn' ? method : 'error'
      ]({ sdk: true, ...meta }, message);
    }),
    telemetryOptions: {
      logging: {
        filter: makeTelemetryFilterString({ core: level === 'TRACE' ? 'DEBUG' : 'WARN' }),
        forward: {},
      },
    },
  });
}
