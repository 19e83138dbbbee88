import { randomUUID } from 'node:crypto';
import { openServiceDbs } from '../support/rows';
import {
  attemptsOf,
  recordHistory,
  SAMPLE_TOTAL,
  sampleOrder,
  startSaga,
  stateOf,
  stepNamed,
  waitForState,
} from '../support/orders';
import { gate, startStack, type Stack } from '../support/stack';
import { cancelSagaUpdate, resumeCompensationUpdate } from '../../workflows/saga/messages';

/**
 * Every ending and failure path of the order saga (its latest version), against the real Temporal server
 * and the real service databases. Each test checks the final rows, not only what the workflow reports.
 */
describe('order saga', () => {
  let stack: Stack;
  const dbs = openServiceDbs();

  beforeAll(async () => {
    stack = await startStack();
  });

  /**
   * Shipment fails (address not serviceable) and the provider refuses to release the payment until told.
   * The compensation's deadline is what this saga tests, so it is short (shipped: hours).
   */
  async function startSagaThatParks() {
    const sagaId = `order-${randomUUID()}`;
    await dbs.payments.providerFault.create({
      data: { id: `fault-${sagaId}`, sagaId, operation: 'release', message: 'provider outage' },
    });
    const order = sampleOrder();
    return startSaga(
      stack,
      { ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } },
      { ...stack.settings, compensationPolicy: { ...stack.settings.compensationPolicy, deadline: '4s' } },
      sagaId,
    );
  }
  afterAll(async () => {
    await stack?.stop();
    await dbs.close();
  });

  test('happy path: order approved, stock reserved, payment captured once, shipment scheduled', async () => {
    const handle = await startSaga(stack);
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPLETED');
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order).toMatchObject({ status: 'APPROVED', totalAmount: SAMPLE_TOTAL, currency: 'EUR' });
    expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
    expect(rows.shipment).toMatchObject({ status: 'SCHEDULED' });
    // The order's units stay reserved: they left with the parcel.
    expect(rows.reservation).toMatchObject({
      status: 'RESERVED',
      items: [
        { sku: 'book-1', quantity: 2 },
        { sku: 'pen-7', quantity: 1 },
      ],
    });
    expect(rows.effects).toEqual({
      orders: ['create:created', 'approve:approved'],
      payments: ['authorize:authorized', 'capture:captured'],
      shipments: ['schedule:scheduled'],
      inventory: ['reserve:reserved'],
    });
    // The provider holds one charge for the payment, captured.
    expect(rows.charges).toEqual([
      expect.objectContaining({ id: rows.payment?.providerRef, status: 'captured', amount: SAMPLE_TOTAL }),
    ]);
    const state = await stateOf(handle);
    expect(state.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ['createOrder', 'SUCCEEDED', 1],
      ['reserveStock', 'SUCCEEDED', 1],
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
    expect(stepNamed(state, 'authorizePayment')).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(state.compensations.map((c) => [c.activity, c.status])).toEqual([
      ['releasePayment', 'SUCCEEDED'],
      ['releaseStock', 'SUCCEEDED'],
      ['cancelOrder', 'SUCCEEDED'],
    ]);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment?.status).toBe('DECLINED');
    expect(rows.shipment).toBeNull();
    expect(rows.effects.payments).toEqual(['authorize:declined', 'release:none']);
    expect(rows.charges.map((c) => c.status)).toEqual(['declined']);
    // The units reserved for the order are available again.
    expect(rows.reservation?.status).toBe('RELEASED');
    expect(rows.effects.inventory).toEqual(['reserve:reserved', 'release:released']);
    await recordHistory(handle, 'compensated-declined');
  });

  test('out of stock: nothing reserved or charged, order cancelled', async () => {
    const order = sampleOrder();
    const handle = await startSaga(stack, {
      ...order,
      items: [...order.items, { sku: 'never-stocked', quantity: 1, unitPrice: 100 }],
    });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({
      status: 'COMPENSATED',
      failure: { step: 'reserveStock', cancelled: false },
    });
    expect(outcome.failure?.reason).toMatch(/OutOfStock/);
    expect(outcome.failure?.reason).toMatch(/never-stocked is not stocked/);
    const state = await stateOf(handle);
    expect(stepNamed(state, 'reserveStock')).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(stepNamed(state, 'authorizePayment')).toMatchObject({ status: 'PENDING' });
    expect(state.compensations.map((c) => [c.activity, c.status])).toEqual([
      ['releaseStock', 'SUCCEEDED'],
      ['cancelOrder', 'SUCCEEDED'],
    ]);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect([rows.payment, rows.shipment, rows.charges]).toEqual([null, null, []]);
    // Nothing was held, not even the units that were in stock; the release leaves a tombstone.
    expect(rows.reservation).toMatchObject({ status: 'RELEASED', releasedBeforeReserve: true, items: [] });
    expect(rows.effects.inventory).toEqual(['reserve:none', 'release:tombstone']);
    await recordHistory(handle, 'compensated-out-of-stock');
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
      'releaseStock',
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
      inventory: ['reserve:reserved', 'release:released'],
    });
    expect(rows.charges.map((c) => c.status)).toEqual(['refunded']);
  });

  test('transient provider errors are retried with backoff and then succeed', async () => {
    const handle = await startSaga(stack, sampleOrder({ paymentToken: 'tok_processingError_2' }));
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPLETED');
    const state = await stateOf(handle);
    expect(stepNamed(state, 'authorizePayment')).toMatchObject({ status: 'SUCCEEDED' });
    // Temporal retried it: the attempt that succeeded was the third, and the history grew by one attempt only.
    expect(await attemptsOf(handle, 'step/authorizePayment')).toEqual({ started: 1, lastAttempt: 3 });
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.payment?.status).toBe('CAPTURED');
    expect(rows.effects.payments).toEqual(['authorize:authorized', 'capture:captured']);
    // The provider failed the first two calls with the payment's key and made one charge on the third.
    expect(rows.charges.map((c) => c.status)).toEqual(['captured']);
    await recordHistory(handle, 'completed-after-retries');
  });

  test('a step that keeps timing out is retried until its deadline, then compensates', async () => {
    // The deadline is what this test is about, so it is short (shipped: 10 minutes).
    const settings = {
      ...stack.settings,
      stepPolicy: {
        ...stack.settings.stepPolicy,
        startToCloseTimeout: '1s' as const,
        deadline: '6s' as const,
      },
    };
    const handle = await startSaga(stack, sampleOrder({ paymentToken: 'tok_timeout' }), settings);
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure?.reason).toMatch(/deadline/);
    const state = await stateOf(handle);
    expect(stepNamed(state, 'authorizePayment')).toMatchObject({ status: 'FAILED' });
    expect((await attemptsOf(handle, 'step/authorizePayment')).lastAttempt).toBeGreaterThan(1);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment).toMatchObject({ status: 'VOIDED', voidedBeforeAuthorize: true });
    expect(rows.charges).toEqual([]);
    await recordHistory(handle, 'compensated-step-deadline');
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
    expect(rows.reservation?.status).toBe('RELEASED');
    await recordHistory(handle, 'compensated-parallel');
  });

  test('a compensation that keeps failing parks the saga until an operator resumes it', async () => {
    const handle = await startSagaThatParks();
    const parked = await waitForState(handle, (s) => s.status === 'COMPENSATION_FAILED');
    expect(parked.parkedReason).toMatch(/releasePayment.*(provider outage|deadline passed)/);
    expect(parked.compensations.map((c) => [c.activity, c.status])).toEqual([
      ['cancelShipment', 'SUCCEEDED'],
      ['releasePayment', 'FAILED'],
      ['releaseStock', 'PENDING'],
      ['cancelOrder', 'PENDING'],
    ]);
    const described = await handle.describe();
    expect(described.status.name).toBe('RUNNING');
    // Nothing was undone out of order: the order is still pending and its stock held while payment is stuck.
    const stuck = await dbs.rowsOf(handle.workflowId);
    expect(stuck.order?.status).toBe('PENDING');
    expect(stuck.reservation?.status).toBe('RESERVED');

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

/** Each step's effect, and the effect of undoing it, as the services' ledgers record them. */
const CANCELLED_AT: Record<string, Record<string, string[]>> = {
  createOrder: { orders: ['create:created', 'cancel:cancelled'], payments: [], shipments: [], inventory: [] },
  reserveStock: {
    orders: ['create:created', 'cancel:cancelled'],
    payments: [],
    shipments: [],
    inventory: ['reserve:reserved', 'release:released'],
  },
  authorizePayment: {
    orders: ['create:created', 'cancel:cancelled'],
    payments: ['authorize:authorized', 'release:voided'],
    shipments: [],
    inventory: ['reserve:reserved', 'release:released'],
  },
  scheduleShipment: {
    orders: ['create:created', 'cancel:cancelled'],
    payments: ['authorize:authorized', 'release:voided'],
    shipments: ['schedule:scheduled', 'cancel:cancelled'],
    inventory: ['reserve:reserved', 'release:released'],
  },
  capturePayment: {
    orders: ['create:created', 'cancel:cancelled'],
    payments: ['authorize:authorized', 'capture:captured', 'release:refunded'],
    shipments: ['schedule:scheduled', 'cancel:cancelled'],
    inventory: ['reserve:reserved', 'release:released'],
  },
  approveOrder: {
    orders: ['create:created', 'approve:approved', 'cancel:cancelled'],
    payments: ['authorize:authorized', 'capture:captured', 'release:refunded'],
    shipments: ['schedule:scheduled', 'cancel:cancelled'],
    inventory: ['reserve:reserved', 'release:released'],
  },
};

/** Holds one activity at a gate until released; the real activity then does the real work. */
function holdingStack(stepName: string, settings?: Parameters<typeof startStack>[0]) {
  const held = gate();
  const finished: Promise<unknown>[] = [];
  const stack = startStack({
    ...settings,
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
  return { held, finished, stack };
}

/**
 * A user's cancel while a step is in flight: the saga accepts it (COMPENSATING), waits for the step to
 * end, and then undoes it too, so the compensation always sees what the step did.
 */
describe.each(Object.keys(CANCELLED_AT))('user cancel while %s is in flight', (stepName) => {
  test('is accepted once, waits for the step, and undoes everything it did', async () => {
    const { held, finished, stack: starting } = holdingStack(stepName);
    const stack = await starting;
    const dbs = openServiceDbs();
    try {
      const handle = await startSaga(stack);
      await held.arrived;
      // A running saga refuses operator actions (the update validator rejects them). No requester, as
      // a client from before the audit sends these updates.
      await expect(
        handle.executeUpdate(resumeCompensationUpdate, { args: [undefined] }),
      ).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/only a saga in COMPENSATION_FAILED/) },
      });
      expect(await handle.executeUpdate(cancelSagaUpdate, { args: [undefined] })).toEqual({
        status: 'COMPENSATING',
      });
      await expect(handle.executeUpdate(cancelSagaUpdate, { args: [undefined] })).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/already COMPENSATING/) },
      });
      const waiting = await stateOf(handle);
      expect(waiting.status).toBe('COMPENSATING');
      expect(waiting.steps.find((s) => s.name === stepName)?.status).toBe('RUNNING');
      held.release();
      const outcome = await handle.result();
      await Promise.all(finished);
      expect(outcome.status).toBe('COMPENSATED');
      expect(outcome.failure).toMatchObject({ cancelled: true, step: stepName });
      const rows = await dbs.rowsOf(handle.workflowId);
      expect(rows.effects).toEqual(CANCELLED_AT[stepName]);
      expect(rows.order?.status).toBe('CANCELLED');
      expect(['VOIDED', 'REFUNDED', undefined]).toContain(rows.payment?.status);
      expect(['CANCELLED', undefined]).toContain(rows.shipment?.status);
      if (stepName === 'approveOrder') await recordHistory(handle, 'compensated-cancelled-in-flight');
    } finally {
      held.release();
      await stack.stop();
      await dbs.close();
    }
  });
});

describe('cancel of a step that outlives its attempt', () => {
  test('the wait is bounded by the attempt timeout; the tombstone stops the late step', async () => {
    const { held, finished, stack: starting } = holdingStack('authorizePayment');
    const stack = await starting;
    const dbs = openServiceDbs();
    try {
      // The attempt timeout is what bounds the wait, so this saga's is short (shipped: 10 s).
      const handle = await startSaga(stack, sampleOrder(), {
        ...stack.settings,
        stepPolicy: { ...stack.settings.stepPolicy, startToCloseTimeout: '2s' },
      });
      await held.arrived;
      // Temporal's own cancel (the Web UI's "Request cancellation") takes the same path as the API's.
      await handle.cancel();
      const outcome = await handle.result();
      expect(outcome).toMatchObject({ status: 'COMPENSATED', failure: { cancelled: true } });
      held.release();
      await Promise.all(finished);
      const rows = await dbs.rowsOf(handle.workflowId);
      expect(rows.order?.status).toBe('CANCELLED');
      expect(rows.payment).toMatchObject({ status: 'VOIDED', voidedBeforeAuthorize: true });
      // The late authorization, if it ran at all, did nothing.
      expect(rows.effects.payments[0]).toBe('release:tombstone');
      expect(rows.effects.payments).not.toContain('authorize:authorized');
      await recordHistory(handle, 'compensated-cancelled');
    } finally {
      held.release();
      await stack.stop();
      await dbs.close();
    }
  });
});
