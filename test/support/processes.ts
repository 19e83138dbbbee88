import { Supervisor, workerSpec, type ProcessSpec, type RestartPolicy } from '../../scripts/lib/supervisor';
import { requireEnv, TEST_ENV } from './env';

/**
 * What a worker process needs to join a test stack: its Temporal server, task queues, bundle, databases
 * and the run's broker and stream (its outbox relay never publishes to the machine's NATS).
 */
export function workerProcessEnv(stack: { prefix: string }): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: requireEnv(TEST_ENV.temporalAddress),
    TASK_QUEUE_PREFIX: stack.prefix,
    WORKFLOW_BUNDLE_PATH: requireEnv(TEST_ENV.workflowBundle),
    ORDERS_DATABASE_URL: requireEnv(TEST_ENV.ordersDb),
    PAYMENTS_DATABASE_URL: requireEnv(TEST_ENV.paymentsDb),
    SHIPMENTS_DATABASE_URL: requireEnv(TEST_ENV.shipmentsDb),
    INVENTORY_DATABASE_URL: requireEnv(TEST_ENV.inventoryDb),
    NATS_URL: requireEnv(TEST_ENV.natsUrl),
    EVENTS_STREAM: requireEnv(TEST_ENV.eventsStream),
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
  };
}

/** Worker processes (`npm run worker -- <kind>`) under the supervisor `npm start` uses, with their output. */
export interface TestProcesses {
  supervisor: Supervisor;
  /** Everything a process printed so far, over all its runs (without the `[name] ` prefix). */
  output(name: string): string;
  /** The supervisor's own lines (restarts, giving up). */
  log(): string[];
  /** Waits until the process logged "worker started" `times` times (its first start, then restarts). */
  waitForWorkerStart(name: string, times?: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts real, separate worker processes (so they can be killed), supervised. */
export function startWorkers(
  kinds: readonly string[],
  env: NodeJS.ProcessEnv,
  policy: Partial<RestartPolicy> = {},
): TestProcesses {
  return startProcesses(
    kinds.map((kind) => workerSpec(kind, { ...process.env, ...env })),
    policy,
  );
}

export function startProcesses(specs: ProcessSpec[], policy: Partial<RestartPolicy> = {}): TestProcesses {
  const outputs = new Map<string, string>();
  const lines: string[] = [];
  const supervisor = new Supervisor(specs, {
    policy,
    log: (line) => lines.push(line),
    output: (line, name) =>
      outputs.set(name, `${outputs.get(name) ?? ''}${line.slice(`[${name}] `.length)}\n`),
  });
  supervisor.start();
  const output = (name: string) => outputs.get(name) ?? '';
  return {
    supervisor,
    output,
    log: () => lines,
    async waitForWorkerStart(name, times = 1, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while ((output(name).match(/worker started/g) ?? []).length < times) {
        if (Date.now() > deadline) throw new Error(`${name} did not start: ${output(name)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    stop: () => supervisor.stop(),
  };
}
