import { backOff } from 'exponential-backoff';
import { retryJitterInterceptor } from './retry-jitter';
import {
  NativeConnection,
  Worker,
  type ActivityInterceptorsFactory,
  type WorkerOptions,
} from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import {
  SERVICES,
  type ServiceDatabaseConfig,
  type ServiceName,
  type TemporalConfig,
  type WorkerConfig,
} from '../shared/config';
import { catalogProblems } from '../workflows/catalog';
import { noTracing, type Tracing } from '../shared/telemetry/tracing';
import { taskQueues } from '../shared/task-queues';
import type { OutboxDb } from '../activities/shared/outbox-relay';
import { connectServiceActivities } from './service-activities';
import { crashAfterCommitInterceptor } from './fault-injection';
import {
  WORKFLOW_INTERCEPTOR_MODULES,
  activityMetricsInterceptor,
  activityTracingInterceptor,
  sagaTelemetrySinks,
  workflowSpanSinks,
} from './telemetry';

export interface RunningWorker {
  worker: Worker;
  /** Releases what the worker holds (its database pool) after worker.run() returned. */
  close(): Promise<void>;
  /** A service worker's database client, for its outbox relay (the orchestrator has no database). */
  outboxDb?: OutboxDb;
}

/** Wraps an activity, e.g. to hold it at a gate in a test; the real activity still does the real work. */
export type ActivityWrapper = (
  name: string,
  activity: (...args: unknown[]) => Promise<unknown>,
) => (...args: unknown[]) => Promise<unknown>;

/** What a worker reports to and how it encodes payloads; each part is optional (tests and tools). */
export interface WorkerTelemetry {
  tracing?: Tracing;
  metrics?: Registry;
  dataConverter?: DataConverter;
  /** The process's logger, for what a service worker reports itself (its circuit breakers' transitions). */
  log?: Logger;
}

/** The orchestrator: workflows only, on its own task queue; it holds no database connection. */
export async function createOrchestratorWorker(
  connection: NativeConnection,
  config: TemporalConfig & WorkerConfig,
  telemetry: WorkerTelemetry = {},
): Promise<RunningWorker> {
  const problems = catalogProblems(SERVICES);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const source: Partial<WorkerOptions> = config.WORKFLOW_BUNDLE_PATH
    ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('../workflows') };
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueues(config.TASK_QUEUE_PREFIX).orchestrator,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    dataConverter: telemetry.dataConverter,
    ...source,
    // Workflow spans cost CPU in every workflow task (measured: bench/README), so only when traced. A
    // prebuilt bundle (tests, the Docker image) has them compiled in either way.
    interceptors: {
      workflowModules:
        telemetry.tracing?.enabled && !config.WORKFLOW_BUNDLE_PATH ? WORKFLOW_INTERCEPTOR_MODULES : [],
    },
    sinks: {
      // A prebuilt bundle has the workflow interceptors whether traced or not, and they call this sink.
      ...workflowSpanSinks(telemetry.tracing ?? noTracing()),
      // Registered even without a registry: the workflows call it either way.
      ...sagaTelemetrySinks(telemetry.metrics ?? new Registry()),
    },
  });
  return { worker, close: async () => undefined };
}

/** One service's activity worker: its own task queue, its own database and nothing else. */
export async function createServiceWorker(
  service: ServiceName,
  connection: NativeConnection,
  config: TemporalConfig & WorkerConfig & ServiceDatabaseConfig,
  telemetry: WorkerTelemetry = {},
  wrap?: ActivityWrapper,
  onWaiting?: (line: string) => void,
): Promise<RunningWorker> {
  const { activities, close, probe, outboxDb } = connectServiceActivities(service, config, {
    metrics: telemetry.metrics,
    log: telemetry.log,
  });
  // A database that is down (a restart, an outage) is waited for, not a crash: a worker restarted during
  // an outage must not crash-loop its supervisor into giving up. Its tasks wait in Temporal meanwhile.
  await backOff(probe, {
    numOfAttempts: Number.MAX_SAFE_INTEGER,
    startingDelay: 500,
    maxDelay: 10_000,
    jitter: 'full',
    retry: (error: Error, attempt) => {
      onWaiting?.(`${error.message}; retrying (attempt ${attempt})`);
      return true;
    },
  });
  const interceptors: ActivityInterceptorsFactory[] = [
    retryJitterInterceptor(),
    ...(telemetry.tracing?.enabled ? [activityTracingInterceptor(telemetry.tracing)] : []),
    ...(telemetry.metrics ? [activityMetricsInterceptor(service, telemetry.metrics)] : []),
  ];
  const crash = crashAfterCommitInterceptor(process.env.SAGA_FAULT_CRASH_AFTER_COMMIT);
  if (crash) interceptors.push(crash);
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueues(config.TASK_QUEUE_PREFIX)[service],
    activities: wrap
      ? Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, wrap(name, fn as never)]))
      : activities,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    dataConverter: telemetry.dataConverter,
    interceptors: { activity: interceptors },
  });
  return { worker, close, outboxDb };
}
