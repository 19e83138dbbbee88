import { openServiceDbs } from '../support/rows';
import { attemptsOf, SAMPLE_TOTAL, startSaga, stateOf } from '../support/orders';
import { startWorkers, type TestProcesses } from '../support/processes';
import { startStack, type Stack } from '../support/stack';
import { requireEnv, TEST_ENV } from '../support/env';

/**
 * The worst moment for idempotency: the payments worker commits the authorization and dies (SIGKILL)
 * before Temporal hears of it. After a restart the step is retried, and the database's idempotency
 * record makes the retry return the first outcome: exactly one authorization, one capture.
 */
describe('payments worker killed after commit, before reporting', () => {
  let stack: Stack;
  const dbs = openServiceDbs();
  const workers: TestProcesses[] = [];

  beforeAll(async () => {
    stack = await startStack({ services: ['orders', 'shipments'] });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await stack?.stop();
    await dbs.close();
  });

  const paymentsEnv = () => ({
    TEMPORAL_ADDRESS: requireEnv(TEST_ENV.temporalAddress),
    TASK_QUEUE_PREFIX: stack.prefix,
    PAYMENTS_DATABASE_URL: requireEnv(TEST_ENV.paymentsDb),
    LOG_LEVEL: 'info',
  });

  test('a restarted worker completes the saga with exactly one effect', async () => {
    // Not restarted by its supervisor: with the same fault it would crash again on the retry.
    const crashing = startWorkers(
      ['payments'],
      { ...paymentsEnv(), SAGA_FAULT_CRASH_AFTER_COMMIT: 'authorizePayment' },
      { restart: false },
    );
    workers.push(crashing);
    await crashing.waitForWorkerStart('payments');
    const running = crashing.supervisor.process('payments');
    if (!running) throw new Error(`payments is not running: ${crashing.output('payments')}`);

    const handle = await startSaga(stack);
    const ended = await running.exited;
    expect(ended.signal).toBe('SIGKILL');

    // The effect is committed although Temporal never got the result.
    const committed = await dbs.rowsOf(handle.workflowId);
    expect(committed.payment?.status).toBe('AUTHORIZED');
    expect(committed.effects.payments).toEqual(['authorize:authorized']);

    const restarted = startWorkers(['payments'], paymentsEnv());
    workers.push(restarted);
    await restarted.waitForWorkerStart('payments');
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPLETED');

    const state = await stateOf(handle);
    expect(state.steps[1]).toMatchObject({ name: 'authorizePayment', status: 'SUCCEEDED' });
    expect((await attemptsOf(handle, 'step/authorizePayment')).lastAttempt).toBeGreaterThanOrEqual(2);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
    expect(rows.effects.payments).toEqual(['authorize:authorized', 'capture:captured']);
    expect(await dbs.payments.payment.count({ where: { sagaId: handle.workflowId } })).toBe(1);
  });
});
