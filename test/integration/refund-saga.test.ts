import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { paymentIdOf } from '../../activities/payments/activities';
import { providerKeys } from '../../activities/payments/provider';
import { setProviderOutage } from '../../activities/payments/provider-store';
import { refundSagaIdOf } from '../../api/saga-service';
import { untyped, type SagaClient, type Schemas } from '../../api/client';
import type { ActivityMeta } from '../../shared/activity-meta';
import { connectServiceActivities } from '../../worker/service-activities';
import { closeTestApps, serveTestApp, type TestApi } from '../support/api';
import { requireEnv, TEST_ENV } from '../support/env';
import { checkStackUntil } from '../support/invariants';
import { attemptsOf, recordHistory, SAMPLE_TOTAL, sampleOrder } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { dbEnv, gate, startStack, type Stack } from '../support/stack';

/**
 * The refund saga end to end: orders completed through the API, refunded through the API, on the real
 * Temporal server and the real service databases and provider store. Every response is checked against
 * the OpenAPI document.
 */
type Saga = Schemas['Saga'];

describe('refund saga', () => {
  let stack: Stack;
  let server: TestApi;
  let api: SagaClient;
  const dbs = openServiceDbs();
  const providerDb = () => requireEnv(TEST_ENV.providerDb);
  /** One activity of one saga held until released; everything else runs through. */
  let held: { sagaId: string; activity: string; gate: ReturnType<typeof gate> } | undefined;

  beforeAll(async () => {
    stack = await startStack({
      wrap:
        (name, activity) =>
        async (...args) => {
          const hold = held;
          if (hold && name === hold.activity && (args[1] as ActivityMeta).sagaId === hold.sagaId) {
            hold.gate.reached();
            await hold.gate.opened;
          }
          return activity(...args);
        },
    });
    server = await serveTestApp(stack);
    api = server.api;
  });
  afterAll(async () => {
    held?.gate.release();
    await closeTestApps();
    await setProviderOutage(providerDb(), null);
    await stack?.stop();
    await dbs.close();
  });

  /** An order whose order saga completed, through the API. */
  async function completedOrder(): Promise<{ sagaId: string; orderId: string }> {
    const res = await api.POST('/sagas', { params: { query: { waitSeconds: 30 } }, body: sampleOrder() });
    expect(res.data?.status).toBe('COMPLETED');
    return { sagaId: res.data!.sagaId, orderId: res.data!.orderId };
  }
  /** Starts the refund of an order and waits up to 30 s for its end. */
  const refund = (orderId: string) =>
    api.POST('/orders/{orderId}/refund', { params: { path: { orderId }, query: { waitSeconds: 30 } } });
  /** Starts the refund of an order, without waiting. */
  const startRefund = (orderId: string) =>
    api.POST('/orders/{orderId}/refund', { params: { path: { orderId } } });
  const cancel = (sagaId: string) => api.POST('/sagas/{sagaId}/cancel', { params: { path: { sagaId } } });
  const listByOrder = (orderId: string, sagaName?: 'order' | 'refund') =>
    api.GET('/sagas', { params: { query: { orderId, sagaName } } });
  const view = async (sagaId: string) =>
    (await api.GET('/sagas/{sagaId}', { params: { path: { sagaId } } })).data as Saga;
  async function waitForView(sagaId: string, predicate: (saga: Saga) => boolean): Promise<Saga> {
    let last: Saga | undefined;
    for (let i = 0; i < 600; i++) {
      last = await view(sagaId);
      if (predicate(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`saga ${sagaId} never reached the state; last: ${JSON.stringify(last)}`);
  }
  async function refundRequestOf(orderId: string) {
    return dbs.provider.requestOf(providerKeys(paymentIdOf(orderId)).refund);
  }

  test('a completed order is refunded: order and payment REFUNDED once, shipment CANCELLED, restocked', async () => {
    const { orderId } = await completedOrder();
    const res = await refund(orderId);
    expect(res.response.status).toBe(200);
    const sagaId = refundSagaIdOf(orderId);
    expect(res.response.headers.get('location')).toBe(`/sagas/${sagaId}`);
    expect(res.data).toMatchObject({ sagaId, orderId, status: 'COMPLETED' });
    expect(res.data!.saga).toMatchObject({
      sagaName: 'refund',
      sagaVersion: 1,
      status: 'COMPLETED',
      customerId: 'cust-42',
      result: {
        customerId: 'cust-42',
        paymentId: paymentIdOf(orderId),
        refundedAmount: SAMPLE_TOTAL,
        currency: 'EUR',
      },
    });
    expect(res.data?.saga?.steps.map((s) => [s.name, s.kind, s.group])).toEqual([
      ['openRefund', 'compensatable', undefined],
      ['refundPayment', 'pivot', undefined],
      ['cancelShipment', 'retriable', 2],
      ['restock', 'retriable', 2],
      ['closeRefund', 'retriable', undefined],
    ]);

    const rows = await dbs.rowsOf({ orderId });
    expect(rows.order?.status).toBe('REFUNDED');
    expect(rows.payment).toMatchObject({ status: 'REFUNDED', amount: SAMPLE_TOTAL });
    expect(rows.shipment?.status).toBe('CANCELLED');
    // The units the order held are available again.
    expect(rows.reservation).toMatchObject({ status: 'RELEASED', releasedBeforeReserve: false });
    expect(rows.charges).toEqual([expect.objectContaining({ status: 'refunded', amount: SAMPLE_TOTAL })]);
    expect(await refundRequestOf(orderId)).toMatchObject({
      operation: 'refund',
      calls: 1,
      response: { status: 'refunded' },
    });
    expect(rows.effects).toEqual({
      orders: ['create:created', 'approve:approved', 'requestRefund:requested', 'completeRefund:refunded'],
      payments: ['authorize:authorized', 'capture:captured', 'refund:refunded'],
      shipments: ['schedule:scheduled', 'cancel:cancelled'],
      inventory: ['reserve:reserved', 'release:released'],
    });
    // The refund's ledger rows are its own: the order saga's are untouched.
    const refundRows = [
      ...rows.ledger.orders,
      ...rows.ledger.payments,
      ...rows.ledger.shipments,
      ...rows.ledger.inventory,
    ].filter((row) => row.sagaId === sagaId);
    expect(refundRows.map((row) => row.operation).sort()).toEqual(
      ['cancel', 'completeRefund', 'refund', 'release', 'requestRefund'].sort(),
    );
    await recordHistory(stack.client.workflow.getHandle(sagaId), 'refund-completed');
  });

  test('the refund saga is read, listed and filtered like any saga', async () => {
    const { sagaId: orderSagaId, orderId } = await completedOrder();
    const customerId = 'cust-42';
    const refundId = (await refund(orderId)).data!.sagaId;
    const got = await view(refundId);
    expect(got).toMatchObject({ sagaId: refundId, sagaName: 'refund', orderId, status: 'COMPLETED' });

    // Visibility is eventually consistent: wait for both sagas of the order to be listed.
    let listed: { sagaId: string; sagaName: string; customerId?: string }[] = [];
    for (let i = 0; i < 100 && listed.length < 2; i++) {
      listed = (await listByOrder(orderId)).data?.sagas ?? [];
      if (listed.length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed.map((s) => [s.sagaId, s.sagaName]).sort()).toEqual(
      [
        [orderSagaId, 'order'],
        [refundId, 'refund'],
      ].sort(),
    );
    // The saga set CustomerId once the order named its customer.
    expect(listed.find((s) => s.sagaId === refundId)?.customerId).toBe(customerId);
    const refunds = await listByOrder(orderId, 'refund');
    expect(refunds.data?.sagas.map((s) => s.sagaId)).toEqual([refundId]);
    const orders = await listByOrder(orderId, 'order');
    expect(orders.data?.sagas.map((s) => s.sagaId)).toEqual([orderSagaId]);
  });

  test('refunding twice, even at once, gives one refund saga and one refund', async () => {
    const { orderId } = await completedOrder();
    const [first, second] = await Promise.all([startRefund(orderId), startRefund(orderId)]);
    expect([first.response.status, second.response.status].every((s) => s === 202 || s === 200)).toBe(true);
    expect(first.data!.sagaId).toBe(refundSagaIdOf(orderId));
    expect(second.data!.sagaId).toBe(first.data!.sagaId);
    await stack.client.workflow.getHandle(first.data!.sagaId).result();
    const third = await startRefund(orderId);
    expect(third.response.status).toBe(200);
    expect(third.data).toMatchObject({ sagaId: first.data!.sagaId, status: 'COMPLETED' });

    const { count } = await stack.client.workflow.count(`WorkflowId = '${first.data!.sagaId}'`);
    expect(count).toBe(1);
    const rows = await dbs.rowsOf({ orderId });
    expect(rows.effects.payments.filter((e) => e.startsWith('refund:'))).toEqual(['refund:refunded']);
    expect(rows.charges).toEqual([expect.objectContaining({ status: 'refunded' })]);
    expect((await refundRequestOf(orderId))?.calls).toBe(1);
  });

  test('the refund of an order that did not complete compensates with the reason and changes nothing', async () => {
    const declined = await api.POST('/sagas', {
      params: { query: { waitSeconds: 30 } },
      body: sampleOrder({ paymentToken: 'tok_chargeDeclined' }),
    });
    expect(declined.data?.status).toBe('COMPENSATED');
    const { orderId } = declined.data!;
    const before = await dbs.rowsOf({ orderId });

    const res = await refund(orderId);
    expect(res.response.status).toBe(200);
    expect(res.data!.status).toBe('COMPENSATED');
    expect(res.data?.saga?.failure).toEqual({
      step: 'openRefund',
      reason: `OrderNotRefundable: order ${orderId} is CANCELLED; only an APPROVED order can be refunded`,
      cancelled: false,
    });
    const after = await dbs.rowsOf({ orderId });
    expect(after.order).toEqual({
      ...before.order,
      // The abort's tombstone: a late request of this refund would do nothing.
      refundAbortedBy: res.data!.sagaId,
      updatedAt: expect.any(Date),
    });
    expect(after.payment).toEqual(before.payment);
    expect(after.shipment).toEqual(before.shipment);
    expect(after.reservation).toEqual(before.reservation);
    expect(after.charges).toEqual(before.charges);
    expect(after.effects).toEqual({
      orders: [...before.effects.orders, 'requestRefund:none', 'abortRefund:tombstone'],
      payments: before.effects.payments,
      shipments: before.effects.shipments,
      inventory: before.effects.inventory,
    });
    expect(await refundRequestOf(orderId)).toBeUndefined();
    await recordHistory(stack.client.workflow.getHandle(res.data!.sagaId), 'refund-compensated');
  });

  test('the refund of an unknown order compensates and writes no business row', async () => {
    const orderId = `ord_${randomUUID()}`;
    const res = await refund(orderId);
    expect(res.data!.status).toBe('COMPENSATED');
    expect(res.data?.saga?.failure).toMatchObject({
      step: 'openRefund',
      reason: `OrderNotRefundable: order ${orderId} does not exist`,
    });
    const rows = await dbs.rowsOf({ orderId });
    expect([rows.order, rows.payment, rows.shipment, rows.reservation]).toEqual([null, null, null, null]);
    expect(rows.effects).toEqual({
      orders: ['requestRefund:none', 'abortRefund:none'],
      payments: [],
      shipments: [],
      inventory: [],
    });
  });

  test('a provider outage during the refund is retried until it ends; still exactly one refund', async () => {
    const { orderId } = await completedOrder();
    await setProviderOutage(providerDb(), new Date(Date.now() + 10 * 60_000), 'refund test outage');
    try {
      const started = await startRefund(orderId);
      expect(started.response.status).toBe(202);
      const retrying = await waitForView(started.data!.sagaId, (saga) => {
        const pivot = saga.steps.find((s) => s.name === 'refundPayment');
        return (pivot?.attempts ?? 0) >= 2 && pivot?.lastError !== undefined;
      });
      expect(retrying.status).toBe('RUNNING');
      expect(retrying.steps.find((s) => s.name === 'refundPayment')).toMatchObject({
        status: 'RUNNING',
        lastError: expect.stringMatching(/ProviderUnavailable: refund test outage/),
      });
    } finally {
      await setProviderOutage(providerDb(), null);
    }
    const handle = stack.client.workflow.getHandle(refundSagaIdOf(orderId));
    expect((await handle.result()).status).toBe('COMPLETED');
    expect((await attemptsOf(handle, 'step/refundPayment')).lastAttempt).toBeGreaterThanOrEqual(2);
    const rows = await dbs.rowsOf({ orderId });
    expect(rows.payment?.status).toBe('REFUNDED');
    expect(rows.charges).toEqual([expect.objectContaining({ status: 'refunded', amount: SAMPLE_TOTAL })]);
    // The provider counts no call while it is down: the one that got through is the only one.
    expect(await refundRequestOf(orderId)).toMatchObject({ calls: 1, response: { status: 'refunded' } });
    expect(rows.effects.payments).toEqual(['authorize:authorized', 'capture:captured', 'refund:refunded']);
  });

  test('a cancel once the payment refund has started is refused 409; the refund completes', async () => {
    const { orderId } = await completedOrder();
    const sagaId = refundSagaIdOf(orderId);
    held = { sagaId, activity: 'cancelShipment', gate: gate() };
    try {
      expect((await startRefund(orderId)).response.status).toBe(202);
      await held.gate.arrived;
      const cancelled = await cancel(sagaId);
      expect(cancelled.response.status).toBe(409);
      expect(cancelled.error?.detail).toMatch(/passed its pivot step refundPayment/);
      const running = await view(sagaId);
      expect(running.status).toBe('RUNNING');
      expect(running.steps.find((s) => s.name === 'refundPayment')?.status).toBe('SUCCEEDED');
      held.gate.release();
      expect((await stack.client.workflow.getHandle(sagaId).result()).status).toBe('COMPLETED');
    } finally {
      held.gate.release();
      held = undefined;
    }
    const rows = await dbs.rowsOf({ orderId });
    expect([
      rows.order?.status,
      rows.payment?.status,
      rows.shipment?.status,
      rows.reservation?.status,
    ]).toEqual(['REFUNDED', 'REFUNDED', 'CANCELLED', 'RELEASED']);
  });

  test('a cancel before the pivot undoes the request: order APPROVED, payment CAPTURED, nothing refunded', async () => {
    const { orderId } = await completedOrder();
    const sagaId = refundSagaIdOf(orderId);
    held = { sagaId, activity: 'requestRefund', gate: gate() };
    try {
      expect((await startRefund(orderId)).response.status).toBe(202);
      await held.gate.arrived;
      const cancelled = await cancel(sagaId);
      expect(cancelled.response.status).toBe(202);
      expect(cancelled.data?.status).toBe('COMPENSATING');
      held.gate.release();
      const outcome = await stack.client.workflow.getHandle(sagaId).result();
      expect(outcome).toMatchObject({
        status: 'COMPENSATED',
        failure: { step: 'openRefund', cancelled: true },
      });
    } finally {
      held.gate.release();
      held = undefined;
    }
    const rows = await dbs.rowsOf({ orderId });
    expect([
      rows.order?.status,
      rows.payment?.status,
      rows.shipment?.status,
      rows.reservation?.status,
    ]).toEqual(['APPROVED', 'CAPTURED', 'SCHEDULED', 'RESERVED']);
    expect(rows.effects.orders).toEqual([
      'create:created',
      'approve:approved',
      'requestRefund:requested',
      'abortRefund:reverted',
    ]);
    expect(await refundRequestOf(orderId)).toBeUndefined();
    expect(rows.charges).toEqual([expect.objectContaining({ status: 'captured' })]);
    // One refund saga per order: asking again shows the compensated one.
    const again = await startRefund(orderId);
    expect(again.response.status).toBe(200);
    expect(again.data).toMatchObject({ sagaId, status: 'COMPENSATED' });
  });

  test('bad requests are refused with a problem naming the field, and start nothing', async () => {
    const countRefunds = async () =>
      (
        await stack.client.workflow.count(
          `WorkflowType = 'refundSaga' AND TaskQueue = '${stack.queues.orchestrator}'`,
        )
      ).count;
    const before = await countRefunds();
    const malformed = await startRefund('not-an-order');
    expect(malformed.response.status).toBe(400);
    expect(malformed.response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(malformed.error?.errors?.[0]).toMatchObject({ field: 'path.orderId', rule: 'invalid_format' });
    const injected = await startRefund(`ord_${randomUUID()}'--`);
    expect(new URL(injected.response.url).pathname).toMatch(/'--\/refund$/);
    expect(injected.response.status).toBe(400);
    // A refund takes an empty body: one with a field goes through the untyped client.
    const withBody = await untyped(api).POST(`/orders/ord_${randomUUID()}/refund`, { body: { amount: 5 } });
    expect(withBody.response.status).toBe(422);
    expect((withBody.error as Schemas['Problem']).errors?.[0]).toMatchObject({
      field: 'body',
      rule: 'unrecognized_keys',
    });
    const badWait = await api.POST('/orders/{orderId}/refund', {
      params: { path: { orderId: `ord_${randomUUID()}` }, query: { waitSeconds: 99 } },
    });
    expect(badWait.response.status).toBe(400);
    expect(badWait.error?.errors?.[0]?.field).toBe('query.waitSeconds');
    const anonymous = await server
      .as()
      .POST('/orders/{orderId}/refund', { params: { path: { orderId: `ord_${randomUUID()}` } } });
    expect(anonymous.response.status).toBe(401);
    expect(await countRefunds()).toBe(before);
  });

  test('the invariant checker passes every saga and refund here, and catches a refund left undone', async () => {
    const narrow = `TaskQueue = '${stack.queues.orchestrator}'`;
    const expected = await stack.client.workflow.count(`WorkflowType = 'refundSaga' AND ${narrow}`);
    const report = await checkStackUntil(
      stack,
      dbs,
      (r) => r.refundsChecked >= expected.count && r.sagasChecked >= 7,
    );
    expect(report.violations).toEqual([]);
    expect(report.refundsByStatus).toEqual({ COMPLETED: 5, COMPENSATED: 3 });
    expect(report.byStatus).toEqual({ COMPLETED: 6, COMPENSATED: 1 });

    // A refund whose shipment is found scheduled again is reported, by the refund saga and its rule.
    const { orderId } = await completedOrder();
    await refund(orderId);
    const sagaId = refundSagaIdOf(orderId);
    await dbs.shipments.shipment.updateMany({ where: { orderId }, data: { status: 'SCHEDULED' } });
    const tampered = await checkStackUntil(
      stack,
      dbs,
      (r) => r.refundsChecked > expected.count && r.sagasChecked >= 8,
    );
    expect(tampered.violations).toEqual([expect.objectContaining({ sagaId, rule: 'refund-shipment' })]);
  });
});

/**
 * The orders service's refund activities on its real database, in the orders that sagas cannot easily
 * be made to produce: a compensation that overtakes its step, and a refund racing its order saga's own
 * compensation (a cancel accepted while approveOrder was in flight).
 */
describe('refund activities: tombstone and race with the order saga', () => {
  const orders = connectServiceActivities('orders', {
    databaseUrl: requireEnv(dbEnv('orders')),
    poolSize: 2,
  });
  const dbs = openServiceDbs();
  afterAll(async () => {
    await orders.close();
    await dbs.close();
  });
  const run = (activity: string, input: unknown, meta: ActivityMeta) =>
    new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') })
      .run(orders.activities[activity] as never, input, meta)
      .then(
        (result: unknown) => result,
        (error: Error) => `failed: ${error.message}`,
      );
  /** An APPROVED order, as a completed order saga leaves it. */
  async function approvedOrder(orderSagaId: string): Promise<string> {
    const orderId = `ord_${randomUUID()}`;
    const order = sampleOrder();
    const meta = (step: string): ActivityMeta => ({
      sagaId: orderSagaId,
      idempotencyKey: `${orderSagaId}/${step}`,
    });
    await run(
      'createOrder',
      {
        orderId,
        customerId: order.customerId,
        currency: order.currency,
        items: order.items,
        shippingAddress: order.shippingAddress,
        totalAmount: SAMPLE_TOTAL,
      },
      meta('createOrder'),
    );
    await run('approveOrder', { orderId, customerId: order.customerId }, meta('approveOrder'));
    return orderId;
  }

  test('abortRefund before its requestRefund leaves a tombstone: the late request does nothing', async () => {
    const orderId = await approvedOrder(`order-${randomUUID()}`);
    const sagaId = refundSagaIdOf(orderId);
    const key = `${sagaId}/run-1/openRefund`;
    expect(await run('abortRefund', { orderId }, { sagaId, idempotencyKey: `${key}/compensate` })).toEqual({
      orderId,
      status: 'APPROVED',
    });
    expect(await run('requestRefund', { orderId }, { sagaId, idempotencyKey: key })).toBe(
      `failed: the refund of order ${orderId} was already aborted by this saga`,
    );
    const rows = await dbs.rowsOf({ orderId });
    expect(rows.order?.status).toBe('APPROVED');
    expect(rows.effects.orders.slice(2)).toEqual(['abortRefund:tombstone', 'requestRefund:none']);
  });

  test('an order saga compensating after its approval cancels a requested refund; the refund closes on it', async () => {
    const orderSagaId = `order-${randomUUID()}`;
    const orderId = await approvedOrder(orderSagaId);
    const sagaId = refundSagaIdOf(orderId);
    const order = sampleOrder();
    expect(
      await run('requestRefund', { orderId }, { sagaId, idempotencyKey: `${sagaId}/r/openRefund` }),
    ).toMatchObject({
      status: 'REFUND_REQUESTED',
    });
    // The order saga's compensation of createOrder: the order is cancelled, refund requested or not.
    await run(
      'cancelOrder',
      { orderId, customerId: order.customerId, currency: order.currency },
      { sagaId: orderSagaId, idempotencyKey: `${orderSagaId}/createOrder/compensate` },
    );
    expect((await dbs.rowsOf({ orderId })).order?.status).toBe('CANCELLED');
    // Past its pivot the refund's last step is retried until it succeeds: a cancelled order must end it.
    expect(
      await run('completeRefund', { orderId }, { sagaId, idempotencyKey: `${sagaId}/r/closeRefund` }),
    ).toEqual({
      orderId,
      status: 'CANCELLED',
    });
    // Before its pivot the refund is undone, and the cancelled order stays cancelled.
    expect(
      await run('abortRefund', { orderId }, { sagaId, idempotencyKey: `${sagaId}/r/openRefund/compensate` }),
    ).toEqual({
      orderId,
      status: 'CANCELLED',
    });
    const rows = await dbs.rowsOf({ orderId });
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.effects.orders).toEqual([
      'create:created',
      'approve:approved',
      'requestRefund:requested',
      'cancel:cancelled',
      'completeRefund:none',
      'abortRefund:tombstone',
    ]);
  });

  test('completeRefund of an order that was never requested is refused and recorded nowhere', async () => {
    const orderId = await approvedOrder(`order-${randomUUID()}`);
    const sagaId = refundSagaIdOf(orderId);
    expect(
      await run('completeRefund', { orderId }, { sagaId, idempotencyKey: `${sagaId}/r/closeRefund` }),
    ).toBe(`failed: order ${orderId} cannot be refunded from APPROVED`);
    expect((await dbs.rowsOf({ orderId })).effects.orders).toEqual(['create:created', 'approve:approved']);
  });
});
