import { startSaga } from '../support/orders';
import { SERVICES } from '../../shared/config';
import { Supervisor, type ProcessSpec } from '../../scripts/lib/supervisor';
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
      // A loaded machine can take over 10 s (the shipped resetAfterMs) to start and fail a worker, which
      // would end the streak this test counts: the doubling and the giving up are under test, not the clock.
      { initialDelayMs: 50, maxCrashes: 3, crashWindowMs: 300_000, resetAfterMs: 300_000 },
    );
    running.push(crashing);
    const orchestrator = crashing.supervisor.process('orchestrator')?.child.pid;
    expect(alive(orchestrator)).toBe(true);

    const reason = await crashing.supervisor.failed;
    expect(reason.message).toBe(
      'payments crashed 3 times within 300 s (last: code 1); giving up: stopping everything',
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

  test('runs executables too: in their own process group if asked, restarted, started when named', async () => {
    // A stand-in for a Temporal server node: any executable, here node itself with a script.
    const exe = (name: string, detached: boolean): ProcessSpec => ({
      name,
      command: process.execPath,
      args: ['-e', 'console.log(`up ${process.pid}`); setInterval(() => {}, 1000);'],
      env: process.env,
      detached,
    });
    const lines: string[] = [];
    const outputs: Record<string, string> = {};
    const supervisor = new Supervisor([exe('first', true), exe('later', false)], {
      policy: { initialDelayMs: 50 },
      log: (line) => lines.push(line),
      output: (line, name) => (outputs[name] = `${outputs[name] ?? ''}${line}\n`),
    });
    running.push({ stop: () => supervisor.stop() } as TestProcesses);
    const ups = (name: string) => (outputs[name] ?? '').match(/up \d+/g)?.length ?? 0;
    const until = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!ok()) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}: ${JSON.stringify(outputs)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    supervisor.start(['first']);
    await until('first to start', () => ups('first') === 1);
    expect(supervisor.process('later')).toBeUndefined();
    const pid = supervisor.process('first')?.child.pid as number;
    // Its own group (Ctrl-C in a terminal does not reach it): the group id is its pid.
    expect(() => process.kill(-pid, 0)).not.toThrow();

    supervisor.kill('first');
    await until('first to be restarted', () => ups('first') === 2);
    expect(lines).toEqual(['first exited (signal SIGKILL); restarting in 50 ms (restart 1)']);

    supervisor.start(['later']);
    supervisor.start(['first', 'later']); // already supervised: nothing more starts
    await until('later to start', () => ups('later') === 1);
    const laterPid = supervisor.process('later')?.child.pid as number;
    expect(() => process.kill(-laterPid, 0)).toThrow();
    const firstPid = supervisor.process('first')?.child.pid;
    await supervisor.stop();
    expect([alive(firstPid), alive(laterPid)]).toEqual([false, false]);
    expect([ups('first'), ups('later')]).toEqual([2, 1]);
  });

  test('an executable that cannot be started counts as a crash', async () => {
    const supervisor = new Supervisor(
      [{ name: 'missing', command: '/nonexistent/temporal-server', env: process.env }],
      { policy: { initialDelayMs: 10, maxCrashes: 2 }, log: () => undefined },
    );
    running.push({ stop: () => supervisor.stop() } as TestProcesses);
    supervisor.start();
    expect((await supervisor.failed).message).toBe(
      'missing crashed 2 times within 60 s (last: code -1); giving up: stopping everything',
    );
  });
});
