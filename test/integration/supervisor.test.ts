import { startSaga } from '../support/orders';
import { SERVICES } from '../../shared/config';
import { startWorkers, type TestProcesses } from '../support/processes';
import { startStack, type Stack } from '../support/stack';
import { requireEnv, TEST_ENV } from '../support/env';

const KINDS = ['orchestrator', ...SERVICES] as const;

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The supervisor `npm start` and the chaos run use, on real worker processes against the real Temporal
 * server and databases: a SIGKILLed worker is restarted and the saga still completes; a process that
 * cannot start makes it give up and stop everything.
 */
describe('process supervisor', () => {
  let stack: Stack;
  const running: TestProcesses[] = [];

  beforeAll(async () => {
    // Only the client lives in this process; every worker is a supervised child.
    stack = await startStack({ services: [], orchestrator: false });
  });
  afterAll(async () => {
    await Promise.all(running.map((processes) => processes.stop()));
    await stack?.stop();
  });

  const workerEnv = () => ({
    TEMPORAL_ADDRESS: requireEnv(TEST_ENV.temporalAddress),
    TASK_QUEUE_PREFIX: stack.prefix,
    WORKFLOW_BUNDLE_PATH: requireEnv(TEST_ENV.workflowBundle),
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
  });

  test('a SIGKILLed worker is restarted and a saga still completes', async () => {
    const workers = startWorkers(KINDS, workerEnv(), { initialDelayMs: 500 });
    running.push(workers);
    await Promise.all(KINDS.map((kind) => workers.waitForWorkerStart(kind)));
    const first = workers.supervisor.process('payments')?.child.pid;
    expect(alive(first)).toBe(true);

    workers.supervisor.kill('payments');
    // The saga needs the payments worker: it can only complete once the restarted one polls.
    const handle = await startSaga(stack);
    await workers.waitForWorkerStart('payments', 2);

    expect(workers.log()).toContain('payments exited (signal SIGKILL); restarting in 500 ms (restart 1)');
    expect(workers.supervisor.restartsOf('payments')).toBe(1);
    expect(workers.supervisor.restarts).toBe(1);
    const second = workers.supervisor.process('payments')?.child.pid;
    expect(second).not.toBe(first);
    expect(alive(first)).toBe(false);
    expect(alive(second)).toBe(true);
    expect((await handle.result()).status).toBe('COMPLETED');
  });

  test('a process held down is stopped, then started again', async () => {
    const workers = startWorkers(['shipments'], workerEnv());
    running.push(workers);
    await workers.waitForWorkerStart('shipments');
    await workers.supervisor.hold('shipments', 500);
    expect(workers.supervisor.process('shipments')).toBeUndefined();
    expect(workers.output('shipments')).toContain('shipments worker stopped');
    await workers.waitForWorkerStart('shipments', 2);
    expect(workers.supervisor.restartsOf('shipments')).toBe(1);
    // A stop on purpose is no crash: nothing about exits or restarts in the supervisor's log.
    expect(workers.log()).toEqual([]);
  });

  test('a crash loop makes it give up with a clear message and stop everything', async () => {
    // The orchestrator would run fine; the payments worker exits at once (invalid configuration).
    const crashing = startWorkers(
      ['orchestrator', 'payments'],
      { ...workerEnv(), PAYMENTS_DATABASE_URL: 'not-a-url' },
      { initialDelayMs: 50, maxCrashes: 3, crashWindowMs: 60_000 },
    );
    running.push(crashing);
    const orchestrator = crashing.supervisor.process('orchestrator')?.child.pid;
    expect(alive(orchestrator)).toBe(true);

    const reason = await crashing.supervisor.failed;
    expect(reason.message).toBe(
      'payments crashed 3 times within 60 s (last: code 1); giving up: stopping everything',
    );
    expect(crashing.log()).toEqual([
      'payments exited (code 1); restarting in 50 ms (restart 1)',
      'payments exited (code 1); restarting in 100 ms (restart 2)',
      reason.message,
    ]);
    expect(crashing.output('payments')).toContain('Invalid configuration: PAYMENTS_DATABASE_URL');
    expect(crashing.supervisor.restartsOf('payments')).toBe(2);
    // Everything it supervised is stopped, and stays stopped.
    expect(alive(orchestrator)).toBe(false);
    expect(crashing.supervisor.process('orchestrator')).toBeUndefined();
    expect(crashing.supervisor.process('payments')).toBeUndefined();
  });
});
