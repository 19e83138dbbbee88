import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  makeTelemetryFilterString,
  type Worker,
} from '@temporalio/worker';
import {
  DATABASE_URL_VARS,
  SERVICES,
  loadConfig,
  sagaConfigSchema,
  type ServiceName,
} from '../../shared/config';
import { dataConverterFromEnv } from '../../shared/encryption/config';
import { sagaSettingsFromConfig, type SagaSettings } from '../../shared/saga-settings';
import { taskQueues, type TaskQueues } from '../../shared/task-queues';
import { clientInterceptors } from '../../shared/telemetry/tracing';
import {
  createOrchestratorWorker,
  createServiceWorker,
  type ActivityWrapper,
  type WorkerTelemetry,
} from '../../worker/workers';
import type { TemporalConnectionOptions } from '../../shared/temporal-connection';
import { requireEnv, TEST_ENV } from './env';

let runtimeInstalled = false;

export type { ActivityWrapper };

export interface StackOptions {
  /** Services whose activity worker runs in this process (default: all three). */
  services?: readonly ServiceName[];
  /** Wraps activities, e.g. to hold one at a gate; the real activity still does the real work. */
  wrap?: ActivityWrapper;
  settings?: Partial<SagaSettings>;
  /** false: no orchestrator in this process (a test runs it as a separate process). */
  orchestrator?: boolean;
  /** The payment provider's store the payments worker uses (default: the run's, from global-setup). */
  providerDatabaseUrl?: string;
  /** Tracing, metrics registry and data converter for the client and every worker of the stack. */
  telemetry?: WorkerTelemetry;
  /** How the client and the workers reach Temporal (default: the run's server, plaintext). */
  connection?: TemporalConnectionOptions;
  /** A service's database reached another way, e.g. through a proxy a test can cut. */
  databaseUrls?: Partial<Record<ServiceName, string>>;
}

/**
 * The whole saga stack in the test process, against the real Temporal server and real databases set up by
 * global-setup: an orchestrator and the service workers on task queues unique to this stack.
 */
export interface Stack {
  client: Client;
  queues: TaskQueues;
  prefix: string;
  settings: SagaSettings;
  stop(): Promise<void>;
}

/**
 * The shipped defaults: a fault is tested with the deadlines users get. A test of a deadline itself sets
 * a short one for its own saga.
 */
export const TEST_SAGA_CONFIG = loadConfig(sagaConfigSchema, {});

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  if (!runtimeInstalled) {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
    });
    runtimeInstalled = true;
  }
  const connectionOptions = options.connection ?? { address: requireEnv(TEST_ENV.temporalAddress) };
  const { address } = connectionOptions;
  const prefix = `t-${randomUUID().slice(0, 8)}-`;
  const queues = taskQueues(prefix);
  const settings = { ...sagaSettingsFromConfig(TEST_SAGA_CONFIG, prefix), ...options.settings };
  const nativeConnection = await NativeConnection.connect(connectionOptions);
  const connection = await Connection.connect(connectionOptions);
  const telemetry: WorkerTelemetry = { dataConverter: testDataConverter(), ...options.telemetry };
  const client = new Client({
    connection,
    dataConverter: telemetry.dataConverter,
    interceptors: clientInterceptors(telemetry.tracing),
  });

  const workers: Worker[] = [];
  const closers: (() => Promise<void>)[] = [];
  const workerConfig = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
    TASK_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    WORKER_MAX_CONCURRENT_ACTIVITIES: 100,
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: 40,
    WORKFLOW_BUNDLE_PATH: requireEnv(TEST_ENV.workflowBundle),
  } as const;
  if (options.orchestrator !== false) {
    const orchestrator = await createOrchestratorWorker(nativeConnection, workerConfig, telemetry);
    workers.push(orchestrator.worker);
  }
  for (const service of options.services ?? SERVICES) {
    const running = await createServiceWorker(
      service,
      nativeConnection,
      {
        ...workerConfig,
        databaseUrl: options.databaseUrls?.[service] ?? requireEnv(dbEnv(service)),
        poolSize: 5,
        providerDatabaseUrl: options.providerDatabaseUrl ?? requireEnv(TEST_ENV.providerDb),
      },
      telemetry,
      options.wrap,
    );
    workers.push(running.worker);
    closers.push(running.close);
  }
  const runs = workers.map((worker) => worker.run());
  return {
    client,
    queues,
    prefix,
    settings,
    async stop() {
      for (const worker of workers) worker.shutdown();
      await Promise.allSettled(runs);
      await Promise.all(closers.map((close) => close()));
      await nativeConnection.close();
      await connection.close();
    },
  };
}

/** The run's encrypting data converter (keys from global-setup), as the real processes use it. */
export function testDataConverter() {
  return dataConverterFromEnv();
}

/** The variable global-setup puts a service's test database URL in: the service's own variable. */
export function dbEnv(service: ServiceName): string {
  return DATABASE_URL_VARS[service];
}

/** A gate that holds one activity until released, and says when the activity reached it. */
export function gate() {
  let release!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  return { opened, arrived, release, reached };
}
