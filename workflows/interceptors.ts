/**
 * Workflow interceptors, bundled with the workflows: OpenTelemetry spans for each workflow run, its
 * activities and timers, continuing the trace the client started (context travels in Temporal headers).
 */
export { interceptors } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';
