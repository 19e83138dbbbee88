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

export interface TemporalRuntimeOptions {
  /** host:port where the SDK's Rust core serves its own Prometheus metrics (worker/poller/task metrics). */
  sdkMetricsAddress?: string;
}

/**
 * Installs the process's Temporal runtime: the SDK's own logs (worker, bundler, Rust core) go to pino, with
 * the workflow id, run id and trace id the SDK attaches kept as fields, and its metrics to Prometheus.
 */
export function installTemporalRuntime(logger: Logger, options: TemporalRuntimeOptions = {}): void {
  const level = SDK_LEVELS[logger.level] ?? 'INFO';
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
      const method = entryLevel.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      logger[
        method === 'trace' || method === 'debug' || method === 'info' || method === 'warn' ? method : 'error'
      ](sdkLogFields(meta), message);
    }),
    telemetryOptions: {
      logging: {
        filter: makeTelemetryFilterString({ core: level === 'TRACE' ? 'DEBUG' : 'WARN' }),
        forward: {},
      },
      ...(options.sdkMetricsAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress: options.sdkMetricsAddress,
                countersTotalSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }
        : {}),
    },
  });
}

/** The saga id is the workflow id; naming it lets one log query follow a saga across every process. */
export function sdkLogFields(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = { sdk: true, ...meta };
  if (typeof fields.workflowId === 'string') fields.sagaId = fields.workflowId;
  if (typeof fields.workflowRunId === 'string') {
    fields.runId = fields.workflowRunId;
    delete fields.workflowRunId;
  }
  // The task token lets its holder complete the activity: not something for log files.
  delete fields.taskToken;
  if (typeof fields.trace_id === 'string') {
    fields.traceId = fields.trace_id;
    fields.spanId = fields.span_id;
    delete fields.trace_id;
    delete fields.span_id;
    delete fields.trace_flags;
  }
  return fields;
}
