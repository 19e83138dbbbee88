import { Client as PgClient } from 'pg';
import { paymentIdOf } from '../../activities/payments/activities';
import { providerKeys } from '../../activities/payments/provider';
import { orderIdKey } from '../../shared/search-attributes';
import { openServiceDbs } from '../support/rows';
import { attemptsOf, SAMPLE_TOTAL, startSaga, stateOf, stepNamed } from '../support/orders';
import { startWorkers, type TestProcesses } from '../support/processes';
import { startStack, type Stack } from '../support/stack';
import { requireEnv, TEST_ENV } from '../support/env';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The payments worker (a real process) is SIGKILLed at the two worst moments for idempotency: after the
 * provider charged the card and before the payments database committed, and after that commit and before
 * Temporal heard of it. After a restart the step is retried, and the provider's idempotency key and the
 * database's idempotency record make the retry return the first outcome: exactly one charge at the
 * provider, one authorization, one capture.
 */
describe('payments worker killed mid-step', () => {
  let stack: Stack;
  const dbs = openServiceDbs();
  const workers: TestProcesses[] = [];

  beforeAll(async () => {
    stack = await startStack({ services: ['orders', 'shipments', 'inventory'] });
  });
  // Each test runs its own payments processes on the stack's queue: none may outlive its test.
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await stack?.stop();
    await dbs.close();
  });

  const paymentsEnv = () => ({
    TEMPORAL_ADDRESS: requireEnv(TEST_ENV.temporalAddress),
    TASK_QUEUE_PREFIX: stack.prefix,
    PAYMENTS_DATABASE_URL: requireEnv(TEST_ENV.paymentsDb),
    PROVIDER_DATABASE_URL: requireEnv(TEST_ENV.providerDb),
    LOG_LEVEL: 'info',
  });
  const startPayments = async (env: Record<string, string> = {}) => {
    // Not restarted by its supervisor: the test restarts it (with the same fault it would crash again).
    const worker = startWorkers(['payments'], { ...paymentsEnv(), ...env }, { restart: false });
    workers.push(worker);
    await worker.waitForWorkerStart('payments');
    const running = worker.supervisor.process('payments');
    if (!running) throw new Error(`payments is not running: ${worker.output('payments')}`);
    return running;
  };

  test('killed after the provider charged and before its own commit: one charge, saga completes', async () => {
    const crashing = await startPayments();
    // The payments database is locked (by the test's own connection, in an open transaction): the
    // activity gets through the provider call and then blocks on its first query of its own database.
    const lock = new PgClient({ connectionString: requireEnv(TEST_ENV.paymentsDb) });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE "Payment", "PaymentOperation" IN ACCESS EXCLUSIVE MODE');

      const handle = await startSaga(stack);
      const orderId = (await handle.describe()).typedSearchAttributes.get(orderIdKey);
      if (!orderId) throw new Error('saga has no OrderId');
      const paymentId = paymentIdOf(orderId);
      const [charge] = await until('the provider charge', async () => {
        const charges = await dbs.provider.chargesOf(paymentId);
        return charges.length ? charges : undefined;
      });
      expect(charge).toMatchObject({ status: 'authorized', amount: SAMPLE_TOTAL });
      // The activity now waits for the lock: past the provider, before its commit.
      await until('the activity blocked on the lock', async () => {
        const { rows } = await lock.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return (rows[0]?.waiting ?? 0) > 0 ? true : undefined;
      });

      crashing.child.kill('SIGKILL');
      expect((await crashing.exited).signal).toBe('SIGKILL');
      await lock.query('ROLLBACK');

      // Charged at the provider, and nothing recorded by the payments service.
      const afterCrash = await dbs.rowsOf({ orderId });
      expect(afterCrash.payment).toBeNull();
      expect(afterCrash.effects.payments).toEqual([]);

      await startPayments();
      const outcome = await handle.result();
      expect(outcome.status).toBe('COMPLETED');
      const state = await stateOf(handle);
      expect(stepNamed(state, 'authorizePayment')).toMatchObject({ status: 'SUCCEEDED' });
      expect((await attemptsOf(handle, 'step/authorizePayment')).lastAttempt).toBeGreaterThanOrEqual(2);

      const rows = await dbs.rowsOf({ orderId });
      // Exactly one charge at the provider, the one made before the crash, now captured.
      expect(rows.charges).toEqual([
        expect.objectContaining({ id: charge?.id, status: 'captured', amount: SAMPLE_TOTAL }),
      ]);
      // The retry reached the provider with the same key and got the stored answer.
      const authorize = await dbs.provider.requestOf(providerKeys(paymentId).authorize);
      expect(authorize?.calls).toBeGreaterThanOrEqual(2);
      expect(authorize?.response).toMatchObject({ chargeId: charge?.id, status: 'authorized' });
      expect(rows.payment).toMatchObject({
        status: 'CAPTURED',
        amount: SAMPLE_TOTAL,
        providerRef: charge?.id,
      });
      expect(rows.effects.payments).toEqual(['authorize:authorized', 'capture:captured']);
      expect(await dbs.payments.payment.count({ where: { sagaId: handle.workflowId } })).toBe(1);
    } finally {
      await lock.end().catch(() => undefined);
    }
  });

  test('killed after its commit and before reporting: the retry returns the first outcome', async () => {
    const crashing = await startPayments({ SAGA_FAULT_CRASH_AFTER_COMMIT: 'authorizePayment' });

    const handle = await startSaga(stack);
    const ended = await crashing.exited;
    expect(ended.signal).toBe('SIGKILL');

    // The effect is committed although Temporal never got the result.
    const committed = await dbs.rowsOf(handle.workflowId);
    expect(committed.payment?.status).toBe('AUTHORIZED');
    expect(committed.effects.payments).toEqual(['authorize:authorized']);

    await startPayments();
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPLETED');

    const state = await stateOf(handle);
    expect(stepNamed(state, 'authorizePayment')).toMatchObject({ status: 'SUCCEEDED' });
    expect((await attemptsOf(handle, 'step/authorizePayment')).lastAttempt).toBeGreaterThanOrEqual(2);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
    expect(rows.effects.payments).toEqual(['authorize:authorized', 'capture:captured']);
    expect(rows.charges.map((c) => c.status)).toEqual(['captured']);
    expect(await dbs.payments.payment.count({ where: { sagaId: handle.workflowId } })).toBe(1);
  });
});
