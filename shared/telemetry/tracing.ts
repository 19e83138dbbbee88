import { trace, type Tracer } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NoopSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { PrismaInstrumentation } from '@prisma/instrumentation';
import type { ClientInterceptors } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TelemetryConfig } from '../config';

/**
 * One OpenTelemetry setup per process, on the OpenTelemetry JS 1.x line (sdk-node 0.57) because
 * @temporalio/interceptors-opentelemetry 1.24 hands 1.x span objects to the span processor it is given.
 */
export interface Tracing {
  /** False when spans go nowhere: workers then leave the workflow tracing interceptors out of their bundle. */
  enabled: boolean;
  /** Also given to Temporal's workflow span sink, so workflow spans leave the same way as the others. */
  spanProcessor: SpanProcessor;
  resource: Resource;
  tracer: Tracer;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` of every span from this process, e.g. "saga-api" or "saga-worker-orders". */
  serviceName: string;
  config: TelemetryConfig;
  /** Replaces the configured exporter; tests pass an in-memory one. */
  spanProcessor?: SpanProcessor;
}

/**
 * Prisma's spans that say nothing about the database: result serialisation, query compilation, the
 * BEGIN and COMMIT inside a transaction span, the pool's connect. Each query keeps its operation,
 * transaction and db_query (the SQL) spans under the activity; leaving these out halves Prisma's spans.
 */
const PRISMA_SPANS_LEFT_OUT = [
  'prisma:client:serialize',
  'prisma:client:compile',
  'prisma:client:start_transaction',
  'prisma:client:commit_transaction',
  'prisma:client:connect',
];

function spanProcessorFor(exporter: 'otlp' | 'console'): SpanProcessor {
  // The OTLP exporter reads OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT and _HEADERS itself.
  return new BatchSpanProcessor(exporter === 'otlp' ? new OTLPTraceExporter() : new ConsoleSpanExporter());
}

export function startTracing(options: TracingOptions): Tracing {
  const exporter = options.config.OTEL_TRACES_EXPORTER;
  const spanProcessor =
    options.spanProcessor ?? (exporter === 'none' ? undefined : spanProcessorFor(exporter));
  // Off means off: no SDK, no instrumentation, the API's no-op tracer (nothing recorded, nothing to collect).
  if (!spanProcessor) return noTracing();
  const resource = new Resource({ [ATTR_SERVICE_NAME]: options.serviceName });
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    spanProcessors: [spanProcessor],
    // Logs go to stdout through pino; no OpenTelemetry log pipeline (the SDK would default to OTLP).
    logRecordProcessors: [],
    instrumentations: [new PrismaInstrumentation({ ignoreSpanTypes: PRISMA_SPANS_LEFT_OUT })],
  });
  sdk.start();
  return {
    enabled: true,
    spanProcessor,
    resource,
    tracer: trace.getTracer('saga'),
    shutdown: () => sdk.shutdown(),
  };
}

/** The Temporal client's interceptors: starts, queries and updates become spans whose context travels to
 * the workflow in headers. None when tracing is off. */
export function clientInterceptors(tracing: Tracing | undefined): ClientInterceptors {
  return {
    workflow: tracing?.enabled
      ? [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })]
      : [],
  };
}

/** Tracing switched off: spans are created by the API's no-op tracer and dropped. */
export function noTracing(): Tracing {
  return {
    enabled: false,
    spanProcessor: new NoopSpanProcessor(),
    resource: Resource.empty(),
    tracer: trace.getTracer('saga'),
    shutdown: async () => undefined,
  };
}
