import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import { BUSINESS_ERROR_TYPES, type ActivityMeta } from '../shared/activity-meta';
import type { ServiceName } from '../shared/config';
import {
  sagaActivityMetrics,
  sagaLifecycleMetrics,
  type SagaOutcomeLabel,
} from '../shared/telemetry/metrics';
import type { Tracing } from '../shared/telemetry/tracing';
import type { SagaStatus } from '../shared/saga-state';
import type { SagaTelemetrySinks } from '../workflows/saga/telemetry';

/** Workflow interceptor modules; every workflow bundle (worker, tests, Docker image) must include them. */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/interceptors')];

/** Spans for activities, children of the workflow's span (context from the activity's headers). */
export function activityTracingInterceptor(tracing: Tracing): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  });
}

/** The sink the workflow interceptors hand their spans to; the orchestrator registers it in any case. */
export function workflowSpanSinks(tracing: Tracing) {
  return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
}

const OUTCOMES: Partial<Record<SagaStatus, SagaOutcomeLabel>> = {
  COMPLETED: 'completed',
  COMPENSATED: 'compensated',
  COMPENSATION_FAILED: 'compensation_failed',
  RESOLVED: 'resolved',
};

/** The orchestrator's side of the saga telemetry sink: lifecycle counters. */
export function sagaTelemetrySinks(registry: Registry): InjectedSinks<SagaTelemetrySinks> {
  const metrics = sagaLifecycleMetrics(registry);
  return {
    sagaTelemetry: {
      started: {
        fn: (_info, saga) => {
          // Every outcome of a saga exists from its first start, at 0: rate() then counts the first one.
          for (const outcome of Object.values(OUTCOMES)) metrics.outcomes.inc({ saga, outcome }, 0);
          metrics.started.inc({ saga });
        },
      },
      statusChanged: {
        fn: (_info, saga, status) => {
          const outcome = OUTCOMES[status];
          if (outcome) metrics.outcomes.inc({ saga, outcome });
        },
      },
    },
  };
}

const BUSINESS = new Set<string>(BUSINESS_ERROR_TYPES);

/** Times every step and compensation a service worker runs, by activity, role and result. */
export function activityMetricsInterceptor(
  service: ServiceName,
  registry: Registry,
): ActivityInterceptorsFactory {
  const { duration, retries } = sagaActivityMetrics(registry);
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const meta = input.args.at(-1) as Partial<ActivityMeta> | undefined;
        const labels = { service, activity: ctx.info.activityType, kind: meta?.role ?? 'step' };
        if (ctx.info.attempt > 1) retries.inc(labels);
        const stop = duration.startTimer(labels);
        try {
          const result = await next(input);
          stop({ result: 'ok' });
          return result;
        } catch (error) {
          const type = (error as { type?: string }).type;
          stop({ result: type && BUSINESS.has(type) ? 'business_error' : 'error' });
          throw error;
        }
      },
    },
  });
}
