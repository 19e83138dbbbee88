import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { ServiceName, TemporalConfig, WorkerConfig } from '../shared/config';
import { taskQueues } from '../shared/task-queues';
import { connectServiceActivities } from './service-activities';
import { crashAfterCommitInterceptor } from './fault-injection';

export interface RunningWorker {
  worker: Worker;
  /** Releases what the worker holds (its database pool) after worker.run() returned. */
  close(): Promise<void>;
}

/** The orchestrator: workflows only, on its own task queue; it holds no database connection. */
export async function createOrchestratorWorker(
  connection: NativeConnection,
  config: TemporalConfig & WorkerConfig,
  overrides: Partial<WorkerOptions> = {},
): Promise<RunningWorker> {
  const source: Partial<WorkerOptions> = config.WORKFLOW_BUNDLE_PATH
    ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('../workflows') };
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueues(config.TASK_QUEUE_PREFIX).orchestrator,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    ...source,
    ...overrides,
  });
  return { worker, close: async () => undefined };
}

/** One service's activity worker: its own task queue, its own database and nothing else. */
export async function createServiceWorker(
  service: ServiceName,
  connection: NativeConnection,
  config: TemporalConfig & WorkerConfig & { databaseUrl: string; poolSize: number },
  overrides: Partial<WorkerOptions> = {},
): Promise<RunningWorker> {
  const { activities, close, probe } = connectServiceActivities(service, config.databaseUrl, config.poolSize);
  await probe();
  const crash = crashAfterCommitInterceptor(process.env.SAGA_FAULT_CRASH_AFTER_COMMIT);
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueues(config.TASK_QUEUE_PREFIX)[service],
    activities,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    interceptors: crash ? { activity: [crash] } : undefined,
    ...overrides,
  });
  return { worker, close };
}
