import { randomUUID } from 'node:crypto';
import { openServiceDbs } from '../support/rows';
import {
  recordHistory,
  SAMPLE_TOTAL,
  sampleOrder,
  startSaga,
  stateOf,
  waitForState,
} from '../support/orders';
import { gate, startStack, type Stack } from '../support/stack';

/**
 * Every ending and failure path of the order saga, against the real Temporal server and the three real
 * service databases. Each test checks the final rows, not only what the workflow reports.
 */
describe('order saga', () => {
  let stack: Stack;
  const dbs = openServiceDbs();

  beforeAll(async () => {
    stack = await startStack();
  });

  /** Shipment fails (address not serviceable) and the provider refuses to release the payment until told. */
  async function startSagaThatParks() {
    const sagaId = `order-${randomUUID()}`;
    await dbs.payments.providerFault.create({
      data: { id: `fault-${sagaId}`, sagaId, operation: 'release', message: 'provider outage' },
    });
    const order = sampleOrder();
    return startSaga(
      stack,
      { ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } },
      stack.settings,
      sagaId,
    );
  }
  afterAll(async () => {
    await stack?.stop();
    await dbs.close();
  });

  test('happy path: order approved, payment captured once, shipment scheduled', async () => {
    const handle = await startSaga(stack);
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPLETED');
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order).toMatchObject({ status: 'APPROVED', totalAmount: SAMPLE_TOTAL, currency: 'EUR' });
    expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
    expect(rows.shipment).toMatchObject({ status: 'SCHEDULED' });
    expect(rows.effects).toEqual({
      orders: ['create:created', 'approve:approved'],
      payments: ['authorize:authorized', 'capture:captured'],
      shipments: ['schedule:scheduled'],
    });
    // The provider holds one charge for the payment, captured.
    expect(rows.charges).toEqual([
      expect.objectContaining({ id: rows.payment?.providerRef, status: 'captured', amount: SAMPLE_TOTAL }),
    ]);
    const state = await stateOf(handle);
    expect(state.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ['createOrder', 'SUCCEEDED', 1],
      ['authorizePayment', 'SUCCEEDED', 1],
      ['scheduleShipment', 'SUCCEEDED', 1],
      ['capturePayment', 'SUCCEEDED', 1],
      ['approveOrder', 'SUCCEEDED', 1],
    ]);
    expect(state.compensations).toEqual([]);
    expect(outcome.data.trackingNumber).toBe(`TRK-${rows.orderId}`);
    await recordHistory(handle, 'completed');
  });

  test('payment declined: not retried, order cancelled, nothing charged or shipped', async () => {
    const handle = await startSaga(stack, sampleOrder({ paymentToken: 'tok_chargeDeclined' }));
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure).toMatchObject({ step: 'authorizePayment', cancelled: false });
    expect(outcome.failure?.reason).toMatch(/PaymentDeclined/);
    const state = await stateOf(handle);
    expect(state.steps[1]).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(state.compensations.map((c) => [c.activity, c.status])).toEqual([
      ['releasePayment', 'SUCCEEDED'],
      ['cancelOrder', 'SUCCEEDED'],
    ]);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment?.status).toBe('DECLINED');
    expect(rows.shipment).toBeNull();
    expect(rows.effects.payments).toEqual(['authorize:declined', 'release:none']);
    expect(rows.charges.map((c) => c.status)).toEqual(['declined']);
    await recordHistory(handle, 'compensated-declined');
  });

  test('address not serviceable: payment voided and order cancelled in reverse order', async () => {
    const order = sampleOrder();
    const handle = await startSaga(stack, {
      ...order,
      shippingAddress: { ...order.shippingAddress, country: 'AQ' },
    });
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure?.reason).toMatch(/AddressNotServiceable/);
    const state = await stateOf(handle);
    expect(state.compensations.map((c) => c.activity)).toEqual([
      'cancelShipment',
      'releasePayment',
      'cancelOrder',
    ]);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment).toMatchObject({ status: 'VOIDED', amount: SAMPLE_TOTAL });
    // The shipment compensation left a tombstone: a late schedule can no longer take effect.
    expect(rows.shipment).toMatchObject({ status: 'CANCELLED', cancelledBeforeSchedule: true });
    expect(rows.effects.payments).toEqual(['authorize:authorized', 'release:voided']);
    expect(rows.charges.map((c) => c.status)).toEqual(['voided']);
  });

  test('failure at the last step (account on hold): refund, shipment cancelled, order cancelled', async () => {
    const handle = await startSaga(stack, sampleOrder({ customerId: 'hold-7' }));
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'COMPENSATED', failure: { step: 'approveOrder' } });
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment).toMatchObject({ status: 'REFUNDED', amount: SAMPLE_TOTAL });
    expect(rows.shipment?.status).toBe('CANCELLED');
    expect(rows.effects).toEqual({
      orders: ['create:created', 'cancel:cancelled'],
      payments: ['authorize:authorized', 'capture:captured', 'release:refunded'],
      shipments: ['schedule:scheduled', 'cancel:cancelled'],
    });
    expect(rows.charges.map((c) => c.status)).toEqual(['refunded']);
  });

  test('transient provider errors are retried with backoff and then succeed', async () => {
    const handle = await startSaga(stack, sampleOrder({ paymentToken: 'tok_processingError_2' }));
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPLETED');
    const state = await stateOf(handle);
    expect(state.steps[1]).toMatchObject({ name: 'authorizePayment', status: 'SUCCEEDED', attempts: 3 });
    expect(state.steps[1]?.lastError).toMatch(/ProviderUnavailable/);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.payment?.status).toBe('CAPTURED');
    expect(rows.effects.payments).toEqual(['authorize:authorized', 'capture:captured']);
    // The provider failed the first two calls with the payment's key and made one charge on the third.
    expect(rows.charges.map((c) => c.status)).toEqual(['captured']);
    await recordHistory(handle, 'completed-after-retries');
  });

  test('a step that keeps timing out exhausts its attempts and compensates', async () => {
    const settings = {
      ...stack.settings,
      stepPolicy: { ...stack.settings.stepPolicy, startToCloseTimeout: '500ms' as const, maximumAttempts: 2 },
    };
    const handle = await startSaga(stack, sampleOrder({ paymentToken: 'tok_timeout' }), settings);
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure?.reason).toMatch(/timeout/);
    const state = await stateOf(handle);
    expect(state.steps[1]).toMatchObject({ status: 'FAILED', attempts: 2 });
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment).toMatchObject({ status: 'VOIDED', voidedBeforeAuthorize: true });
    expect(rows.charges).toEqual([]);
  });

  test('parallel compensation undoes every step', async () => {
    const settings = { ...stack.settings, compensationMode: 'parallel' as const };
    const order = sampleOrder();
    const handle = await startSaga(
      stack,
      { ...order, shippingAddress: { ...order.shippingAddress, postalCode: '00000' } },
      settings,
    );
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    const state = await stateOf(handle);
    expect(state.compensationMode).toBe('parallel');
    expect(state.compensations.every((c) => c.status === 'SUCCEEDED')).toBe(true);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment?.status).toBe('VOIDED');
    expect(rows.shipment?.status).toBe('CANCELLED');
    await recordHistory(handle, 'compensated-parallel');
  });

  test('a compensation that keeps failing parks the saga until an operator resumes it', async () => {
    const handle = await startSagaThatParks();
    const parked = await waitForState(handle, (s) => s.status === 'COMPENSATION_FAILED');
    expect(parked.parkedReason).toMatch(/releasePayment.*provider outage/);
    expect(parked.compensations.map((c) => [c.activity, c.status])).toEqual([
      ['cancelShipment', 'SUCCEEDED'],
      ['releasePayment', 'FAILED'],
      ['cancelOrder', 'PENDING'],
    ]);
    const described = await handle.describe();
    expect(described.status.name).toBe('RUNNING');
    // Nothing was undone out of order: the order is still pending while payment is stuck.
    expect((await dbs.rowsOf(handle.workflowId)).order?.status).toBe('PENDING');

    await dbs.payments.providerFault.deleteMany({ where: { sagaId: handle.workflowId } });
    await handle.executeUpdate('resumeCompensation');
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment?.status).toBe('VOIDED');
    expect(rows.effects.payments).toEqual(['authorize:authorized', 'release:voided']);
    await recordHistory(handle, 'compensated-after-resume');
  });

  test('an operator can mark a parked saga resolved; updates are refused in other states', async () => {
    const handle = await startSagaThatParks();
    await waitForState(handle, (s) => s.status === 'COMPENSATION_FAILED');
    await expect(handle.executeUpdate('markResolved', { args: [{ note: '' }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/note is required/) },
    });
    await handle.executeUpdate('markResolved', {
      args: [{ note: 'voided by hand in the provider dashboard' }],
    });
    const outcome = await handle.result();
    expect(outcome.status).toBe('RESOLVED');
    expect((await stateOf(handle)).resolution?.note).toBe('voided by hand in the provider dashboard');
    // The saga has ended: the update cannot be delivered.
    await expect(handle.executeUpdate('resumeCompensation')).rejects.toThrow();
    await dbs.payments.providerFault.deleteMany({ where: { sagaId: handle.workflowId } });
    await recordHistory(handle, 'resolved');

    const completed = await startSaga(stack);
    await completed.result();
    await expect(completed.executeUpdate('resumeCompensation')).rejects.toThrow();
  });
});

/** A user cancel at each step runs the compensations of what was done and ends COMPENSATED. */
describe.each(['createOrder', 'authorizePayment', 'scheduleShipment', 'capturePayment', 'approveOrder'])(
  'user cancel during %s',
  (stepName) => {
    test('compensates and leaves every service consistent, even when the held step completes late', async () => {
      const held = gate();
      const finished: Promise<unknown>[] = [];
      const stack = await startStack({
        wrap:
          (name, activity) =>
          async (...args) => {
            if (name !== stepName) return activity(...args);
            held.reached();
            await held.opened;
            const late = activity(...args);
            finished.push(late.catch(() => undefined));
            return late;
          },
      });
      const dbs = openServiceDbs();
      try {
        const handle = await startSaga(stack);
        await held.arrived;
        // A running saga refuses operator actions (the update validator rejects them).
        await expect(handle.executeUpdate('resumeCompensation')).rejects.toMatchObject({
          cause: { message: expect.stringMatching(/only a saga in COMPENSATION_FAILED/) },
        });
        await handle.cancel();
        const outcome = await handle.result();
        expect(outcome.status).toBe('COMPENSATED');
        expect(outcome.failure).toMatchObject({ cancelled: true, step: stepName });
        held.release();
        await new Promise((resolve) => setTimeout(resolve, 200));
        await Promise.all(finished);
        const rows = await dbs.rowsOf(handle.workflowId);
        expect(rows.order?.status).toBe('CANCELLED');
        expect(['VOIDED', 'REFUNDED', undefined]).toContain(rows.payment?.status);
        expect(['CANCELLED', undefined]).toContain(rows.shipment?.status);
        if (stepName === 'authorizePayment') await recordHistory(handle, 'compensated-cancelled');
      } finally {
        held.release();
        await stack.stop();
        await dbs.close();
      }
    });
  },
);
