import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { SagaClient } from '../../api/client';
import { checkStackUntil } from '../support/invariants';
import { closeTestApps, serveTestApp } from '../support/api';
import { SAMPLE_TOTAL, sampleOrder } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';

/**
 * Idempotency that survives time: the API derives a saga id from an Idempotency-Key, and once Temporal's
 * retention has deleted that saga, the same key starts a new run under the same saga id. The new run has
 * a new order id, and every row of a run derives from its order id: the second run must create its own
 * order, payment, shipment, ledger rows and provider charge, run to completion, and leave the first run's
 * rows untouched (it must never replay the first run's recorded outcomes).
 */
describe('a saga id re-used after retention', () => {
  let stack: Stack;
  let api: SagaClient;
  const dbs = openServiceDbs();

  beforeAll(async () => {
    stack = await startStack();
    api = (await serveTestApp(stack)).api;
  });
  afterAll(async () => {
    await closeTestApps();
    await stack?.stop();
    await dbs.close();
  });

  test('the same Idempotency-Key after the first run was deleted runs afresh, with rows of its own', async () => {
    const key = `reuse-${randomUUID()}`;
    const body = sampleOrder();
    const post = () =>
      api.POST('/sagas', {
        params: { query: { waitSeconds: 30 }, header: { 'idempotency-key': key } },
        body,
      });

    const first = await post();
    expect(first.response.status).toBe(200);
    expect(first.data?.status).toBe('COMPLETED');
    const { sagaId, orderId: firstOrderId } = first.data!;
    const firstRows = await dbs.rowsOf({ orderId: firstOrderId });
    expect(firstRows.order).toMatchObject({ sagaId, status: 'APPROVED' });
    expect(firstRows.charges.map((c) => c.status)).toEqual(['captured']);

    // Retention, simulated: the first run's execution is deleted from Temporal.
    const { runId } = await stack.client.workflow.getHandle(sagaId).describe();
    await stack.client.workflowService.deleteWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: sagaId, runId },
    });
    // The server deletes asynchronously (a system workflow), taking from seconds to a minute under load.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const gone = await stack.client.workflow
        .getHandle(sagaId)
        .describe()
        .then(
          () => false,
          (error: unknown) => error instanceof WorkflowNotFoundError,
        );
      if (gone) break;
      if (Date.now() > deadline) {
        const last = await stack.client.workflow
          .getHandle(sagaId)
          .describe()
          .then(
            (d) => d.status.name,
            (e: unknown) => String(e),
          );
        throw new Error(`workflow ${sagaId} was not deleted: ${last}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const second = await post();
    expect(second.response.status).toBe(200);
    expect(second.data).toMatchObject({ sagaId, status: 'COMPLETED' });
    const secondOrderId = second.data!.orderId;
    expect(secondOrderId).not.toBe(firstOrderId);
    const described = await stack.client.workflow.getHandle(sagaId).describe();
    expect(described.runId).not.toBe(runId);

    // The second run did everything itself.
    const rows = await dbs.rowsOf({ orderId: secondOrderId });
    expect(rows.order).toMatchObject({
      id: secondOrderId,
      sagaId,
      status: 'APPROVED',
      totalAmount: SAMPLE_TOTAL,
    });
    expect(rows.payment).toMatchObject({
      sagaId,
      orderId: secondOrderId,
      status: 'CAPTURED',
      amount: SAMPLE_TOTAL,
    });
    expect(rows.payment?.id).not.toBe(firstRows.payment?.id);
    expect(rows.shipment).toMatchObject({ sagaId, orderId: secondOrderId, status: 'SCHEDULED' });
    expect(rows.shipment?.id).not.toBe(firstRows.shipment?.id);
    expect(rows.effects).toEqual({
      orders: ['create:created', 'approve:approved'],
      payments: ['authorize:authorized', 'capture:captured'],
      shipments: ['schedule:scheduled'],
      inventory: ['reserve:reserved'],
    });
    for (const ledger of Object.values(rows.ledger)) {
      for (const row of ledger) expect(row.sagaId).toBe(sagaId);
    }
    // No ledger row is shared with the first run (ids are per service's own ledger table).
    for (const [service, ops] of Object.entries(rows.ledger)) {
      const firstIds = new Set(firstRows.ledger[service as keyof typeof firstRows.ledger].map((op) => op.id));
      expect(ops.filter((op) => firstIds.has(op.id))).toEqual([]);
    }
    expect(rows.charges).toEqual([
      expect.objectContaining({ id: rows.payment?.providerRef, status: 'captured', amount: SAMPLE_TOTAL }),
    ]);
    expect(rows.charges[0]?.id).not.toBe(firstRows.charges[0]?.id);

    // The first run's rows are exactly as it left them.
    expect(await dbs.rowsOf({ orderId: firstOrderId })).toEqual(firstRows);
    expect(await dbs.orders.order.count({ where: { sagaId } })).toBe(2);
    expect(await dbs.payments.payment.count({ where: { sagaId } })).toBe(2);
    expect(await dbs.shipments.shipment.count({ where: { sagaId } })).toBe(2);
    // A saga id alone no longer names one run's rows.
    await expect(dbs.rowsOf(sagaId)).rejects.toThrow(/rows of 2 runs/);

    // The invariant checker picks the run it checks by its OrderId: the second run is consistent.
    const report = await checkStackUntil(stack, dbs, (r) => r.byStatus.COMPLETED === 1);
    expect(report).toMatchObject({ sagasChecked: 1, byStatus: { COMPLETED: 1 }, violations: [] });
  }, 240_000);
});
