import { SAMPLE_TOTAL, startSaga, stepNamed, waitForState } from '../support/orders';
import { startWorkers, type TestProcesses } from '../support/processes';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';
import { requireEnv, TEST_ENV } from '../support/env';

const DOWN_MS = 90_000;

/**
 * A worker that is down is not a failure: with the shipped deadlines, sagas wait in Temporal for the
 * shipments worker (a real process, held down by the supervisor) and complete once it is back.
 */
describe('the shipments worker down for 90 s', () => {
  let stack: Stack;
  let workers: TestProcesses;
  const dbs = openServiceDbs();

  beforeAll(async () => {
    stack = await startStack({ services: ['orders', 'payments', 'inventory'] });
    workers = startWorkers(['shipments'], {
      TEMPORAL_ADDRESS: requireEnv(TEST_ENV.temporalAddress),
      TASK_QUEUE_PREFIX: stack.prefix,
      SHIPMENTS_DATABASE_URL: requireEnv(TEST_ENV.shipmentsDb),
      LOG_LEVEL: 'info',
    });
    await workers.waitForWorkerStart('shipments');
  });
  afterAll(async () => {
    await workers?.stop();
    await stack?.stop();
    await dbs.close();
  });

  test('sagas wait for it and complete, none compensated', async () => {
    await workers.supervisor.hold('shipments', DOWN_MS);
    const handles = await Promise.all(Array.from({ length: 10 }, () => startSaga(stack)));
    // Every saga reaches the shipment step and waits there: nothing can take its task.
    for (const handle of handles) {
      const state = await waitForState(
        handle,
        (s) => stepNamed(s, 'scheduleShipment')?.status === 'RUNNING',
        DOWN_MS,
      );
      expect(state.status).toBe('RUNNING');
    }
    await workers.waitForWorkerStart('shipments', 2, DOWN_MS + 60_000);
    const outcomes = await Promise.all(handles.map((h) => h.result()));
    expect(outcomes.map((o) => o.status)).toEqual(handles.map(() => 'COMPLETED'));
    for (const handle of handles) {
      const rows = await dbs.rowsOf(handle.workflowId);
      expect(rows.order?.status).toBe('APPROVED');
      expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
      expect(rows.effects.shipments).toEqual(['schedule:scheduled']);
    }
  }, 300_000);
});
