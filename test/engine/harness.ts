import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  DefaultLogger,
  Runtime,
  Worker,
  bundleWorkflowCode,
  makeTelemetryFilterString,
  type InjectedSinks,
  type WorkerOptions,
} from '@temporalio/worker';
import { loadConfig, sagaConfigSchema } from '../../shared/config';
import { sagaSettingsFromConfig, type SagaSettings } from '../../shared/saga-settings';
import type { SagaOutcome, SagaState } from '../../shared/saga-state';
import { sagaStatusKey } from '../../shared/search-attributes';
import { taskQueueOfService } from '../../shared/task-queue-name';
import { resolveTemporalCli } from '../../scripts/temporal/provision';
import type { SagaTelemetrySinks } from '../../workflows/saga/telemetry';
import { sagaStateQuery, type SagaWorkflowInput } from '../../workflows/saga';
import { ledger, ledgerActivities } from './ledger';
import { LEDGER_SERVICE_NAMES, type EngineSagaData, type EngineSagaInput } from './sagas';

/**
 * The engine under test on @temporalio/testing: a local Temporal dev server (TestWorkflowEnvironment
 * .createLocal, run from the project's own Temporal CLI: the SDK's download cannot work offline), one
 * worker per synthetic service on its task queue `<prefix><service>`, and an orchestrator running the
 * bundled test workflows. The time-skipping server (createTimeSkipping) would need another download, so
 * time here is real: the durations a test is about (a deadline, the interval a retriable step is asked
 * again after) are short in that test; the others are the shipped defaults.
 */
export type SagaHandle = WorkflowHandle<
  (input: SagaWorkflowInput<EngineSagaInput>) => Promise<SagaOutcome<EngineSagaData>>
>;

export interface Engine {
  env: TestWorkflowEnvironment;
  prefix: string;
  /** The orchestrator's task queue: the one sagas are started on. */
  orchestratorQueue: string;
  settings: SagaSettings;
  start(workflowType: string, input?: EngineSagaInput, settings?: Partial<SagaSettings>): Promise<SagaHandle>;
  /** Runs an orchestrator on this engine's queue with a workflow bundle; stop() shuts it down. */
  orchestrator(code: string, options?: Partial<WorkerOptions>): Promise<{ stop(): Promise<void> }>;
  stop(): Promise<void>;
}

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };

/** Bundles a workflows module once (a worker given the code does not bundle it again). */
export async function bundle(workflowsPath: string): Promise<string> {
  return (await bundleWorkflowCode({ workflowsPath, logger: quiet })).code;
}

let runtimeInstalled = false;

/** The settings the engine tests run with: the shipped defaults, but a retriable step is asked again
 * after 500 ms (shipped: SAGA_COMPENSATION_MAX_INTERVAL, 1 min), the subject of every test with one. */
export function engineSettings(prefix: string): SagaSettings {
  const shipped = sagaSettingsFromConfig(loadConfig(sagaConfigSchema, {}), prefix);
  return { ...shipped, compensationPolicy: { ...shipped.compensationPolicy, maximumInterval: '500ms' } };
}

/** Starts the server and the service workers, and an orchestrator of `code` unless it is null. */
export async function startEngine(code: string | null): Promise<Engine> {
  if (!runtimeInstalled) {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
    });
    runtimeInstalled = true;
  }
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await resolveTemporalCli() },
      searchAttributes: [sagaStatusKey],
    },
  });
  const prefix = `e-${randomUUID().slice(0, 8)}-`;
  const orchestratorQueue = `${prefix}orchestrator`;
  const settings = engineSettings(prefix);
  const running: { worker: Worker; run: Promise<void> }[] = [];
  const run = (worker: Worker) => {
    const started = { worker, run: worker.run() };
    running.push(started);
    return {
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await started.run;
      },
    };
  };
  for (const service of LEDGER_SERVICE_NAMES) {
    run(
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: taskQueueOfService(prefix, service),
        activities: ledgerActivities(service),
        // Heartbeats carry a cancel to a held activity: sent at once, not every 30 s (the default).
        defaultHeartbeatThrottleInterval: '100ms',
        maxHeartbeatThrottleInterval: '100ms',
      }),
    );
  }
  const sinks: InjectedSinks<SagaTelemetrySinks> = {
    sagaTelemetry: { started: { fn: () => undefined }, statusChanged: { fn: () => undefined } },
  };
  const orchestrator = async (workflowCode: string, options: Partial<WorkerOptions> = {}) =>
    run(
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: orchestratorQueue,
        workflowBundle: { code: workflowCode },
        sinks,
        ...options,
      }),
    );
  if (code !== null) await orchestrator(code);

  return {
    env,
    prefix,
    orchestratorQueue,
    settings,
    orchestrator,
    async start(workflowType, input = {}, overrides = {}) {
      return env.client.workflow.start(workflowType, {
        taskQueue: orchestratorQueue,
        workflowId: `saga-${randomUUID()}`,
        args: [{ ...input, settings: { ...settings, ...overrides } }],
      }) as Promise<SagaHandle>;
    },
    async stop() {
      ledger.releaseAll();
      for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.allSettled(running.map((r) => r.run));
      await env.teardown();
    },
  };
}

export function stateOf(handle: SagaHandle): Promise<SagaState> {
  return handle.query(sagaStateQuery);
}

/** Polls the saga's state until `done` holds. */
export async function waitForState(
  handle: SagaHandle,
  done: (state: SagaState) => boolean,
  timeoutMs = 60_000,
): Promise<SagaState> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = await stateOf(handle);
    if (done(state)) return state;
    if (Date.now() > until)
      throw new Error(`saga ${handle.workflowId}: state not reached: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
