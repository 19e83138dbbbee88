import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { createInventoryActivities, reservationIdOf } from '../../activities/inventory/activities';
import { createOrdersActivities } from '../../activities/orders/activities';
import { createPaymentsActivities, paymentIdOf } from '../../activities/payments/activities';
import { transientFailure } from '../../activities/shared/failures';
import { appendEvent, outboxRowToEvent } from '../../activities/shared/outbox';
import { createShipmentsActivities, shipmentIdOf } from '../../activities/shipments/activities';
import { refundSagaIdOf } from '../../api/saga-service';
import type { ActivityMeta } from '../../shared/activity-meta';
import { domainEventSchema, type DomainEvent } from '../../shared/events';
import { orderIdKey, sagaStatusKey } from '../../shared/search-attributes';
import { EVENT_OF_EFFECT } from '../../tools/invariants/outbox-rules';
import type { RefundSagaWorkflowInput } from '../../workflows/refund-saga';
import { checkStackUntil } from '../support/invariants';
import { attemptsOf, SAMPLE_TOTAL, sampleOrder, startSaga } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { gate, startStack, type Stack } from '../support/stack';

type Aggregate = 'order' | 'payment' | 'shipment' | 'reservation';

/**
 * The transactional outbox on the real Temporal server and the real service databases: every effect of
 * every saga path writes exactly one event, in its own transaction; a retried or duplicated activity
 * writes none; each aggregate's events are numbered 1..n in the order of its effects.
 */
describe('outbox', () => {
  let stack: Stack;
  const dbs = openServiceDbs();
  /** One activity of one saga held until released. */
  let held: { sagaId: string; activity: string; gate: ReturnType<typeof gate> } | undefined;

  beforeAll(async () => {
    stack = await startStack({
      wrap:
        (name, activity) =>
        async (...args) => {
          const { sagaId } = args[1] as ActivityMeta;
          const hold = held;
          if (hold && name === hold.activity && sagaId === hold.sagaId) {
            hold.gate.reached();
            await hold.gate.opened;
          }
          const result = await activity(...args);
          // The worker "dies" after each effect committed: Temporal retries every activity once.
          if (sagaId.startsWith('order-retried-') && Context.current().info.attempt === 1) {
            throw transientFailure('WorkerLost', 'connection lost after the commit');
          }
          return result;
        },
    });
  });
  afterAll(async () => {
    held?.gate.release();
    await stack?.stop();
    await dbs.close();
  });

  /** The order's events, each aggregate's in sequence order, every row validated by its schema. */
  async function eventsOf(orderId: string): Promise<Record<Aggregate, DomainEvent[]>> {
    const read = (rows: Awaited<ReturnType<typeof dbs.orders.outboxEvent.findMany>>) =>
      rows.map((row) => {
        expect(row.publishedAt).toBeNull(); // in-process workers run no relay (outbox-relay.test.ts)
        return domainEventSchema.parse(outboxRowToEvent(row));
      });
    const of = (aggregateId: string) => ({ where: { aggregateId }, orderBy: { sequence: 'asc' as const } });
    const [order, payment, shipment, reservation] = await Promise.all([
      dbs.orders.outboxEvent.findMany(of(orderId)),
      dbs.payments.outboxEvent.findMany(of(paymentIdOf(orderId))),
      dbs.shipments.outboxEvent.findMany(of(shipmentIdOf(orderId))),
      dbs.inventory.outboxEvent.findMany(of(reservationIdOf(orderId))),
    ]);
    return {
      order: read(order),
      payment: read(payment),
      shipment: read(shipment),
      reservation: read(reservation),
    };
  }

  /**
   * The order's events by aggregate, as `type@sequence`, after checking them against the services'
   * ledgers: the effects that changed something, in ledger order, are the events in sequence order, one
   * to one and written by the same saga; sequences run 1..n; occurredAt follows the sequence.
   */
  async function checkedEvents(orderId: string): Promise<Record<Aggregate, string[]>> {
    const events = await eventsOf(orderId);
    const { ledger } = await dbs.rowsOf({ orderId });
    type LedgerRow = { sagaId: string; operation: string; outcome: unknown };
    const ledgerOf: Record<Aggregate, { service: string; rows: LedgerRow[] }> = {
      order: { service: 'order', rows: ledger.orders },
      payment: { service: 'payment', rows: ledger.payments },
      shipment: { service: 'shipment', rows: ledger.shipments },
      reservation: { service: 'inventory', rows: ledger.inventory },
    };
    const out = {} as Record<Aggregate, string[]>;
    for (const aggregate of Object.keys(ledgerOf) as Aggregate[]) {
      const { service, rows } = ledgerOf[aggregate];
      const expected = rows.flatMap((row) => {
        const effect = (row.outcome as { effect?: string }).effect;
        const type = (EVENT_OF_EFFECT as Record<string, string>)[`${service}.${row.operation}:${effect}`];
        return type ? [`${type} by ${row.sagaId}`] : [];
      });
      const stream = events[aggregate];
      expect(stream.map((e) => `${e.type} by ${e.sagaId}`)).toEqual(expected);
      expect(stream.map((e) => e.sequence)).toEqual(stream.map((_, i) => i + 1));
      expect(stream.every((e) => e.aggregateType === aggregate)).toBe(true);
      const times = stream.map((e) => Date.parse(e.occurredAt));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      out[aggregate] = stream.map((e) => `${e.type}@${e.sequence}`);
    }
    // Card data never reaches an event (the schemas are strict; this is the row itself).
    expect(JSON.stringify(events)).not.toMatch(/tok_/);
    return out;
  }

  async function orderIdOf(handle: { workflowId: string; result(): Promise<unknown> }) {
    await handle.result();
    const orderId = await dbs.orderIdOf(handle.workflowId);
    if (!orderId) throw new Error(`saga ${handle.workflowId} wrote no rows`);
    return orderId;
  }

  test('happy path: one event per effect, each aggregate numbered from 1', async () => {
    const handle = await startSaga(stack);
    const orderId = await orderIdOf(handle);
    expect(await checkedEvents(orderId)).toEqual({
      order: ['order.created@1', 'order.approved@2'],
      payment: ['payment.authorized@1', 'payment.captured@2'],
      shipment: ['shipment.scheduled@1'],
      reservation: ['reservation.reserved@1'],
    });
    const events = await eventsOf(orderId);
    expect(events.order[0]).toMatchObject({
      sagaId: handle.workflowId,
      aggregateId: orderId,
      payload: { orderId, customerId: 'cust-42', currency: 'EUR', totalAmount: SAMPLE_TOTAL },
    });
    expect(events.payment[1]?.payload).toEqual({
      paymentId: paymentIdOf(orderId),
      orderId,
      amount: SAMPLE_TOTAL,
      currency: 'EUR',
    });
    expect(events.shipment[0]?.payload).toEqual({
      shipmentId: shipmentIdOf(orderId),
      orderId,
      trackingNumber: `TRK-${orderId}`,
    });
    expect(events.reservation[0]?.payload).toMatchObject({
      items: [
        { sku: 'book-1', quantity: 2 },
        { sku: 'pen-7', quantity: 1 },
      ],
    });
  });

  test('payment declined: the decline is an event; the release that found nothing to do is none', async () => {
    const handle = await startSaga(stack, sampleOrder({ paymentToken: 'tok_chargeDeclined' }));
    const orderId = await orderIdOf(handle);
    expect(await checkedEvents(orderId)).toEqual({
      order: ['order.created@1', 'order.cancelled@2'],
      payment: ['payment.declined@1'],
      shipment: [],
      reservation: ['reservation.reserved@1', 'reservation.released@2'],
    });
    expect((await eventsOf(orderId)).payment[0]?.payload).toMatchObject({ amount: SAMPLE_TOTAL });
  });

  test('out of stock: nothing reserved, so no stock event; the release tombstone writes none', async () => {
    const order = sampleOrder();
    const handle = await startSaga(stack, {
      ...order,
      items: [...order.items, { sku: 'never-stocked', quantity: 1, unitPrice: 100 }],
    });
    const orderId = await orderIdOf(handle);
    expect(await checkedEvents(orderId)).toEqual({
      order: ['order.created@1', 'order.cancelled@2'],
      payment: [],
      shipment: [],
      reservation: [],
    });
  });

  test('shipment failure: payment voided and stock released, each with its event; no shipment event', async () => {
    const order = sampleOrder();
    const handle = await startSaga(stack, {
      ...order,
      shippingAddress: { ...order.shippingAddress, country: 'AQ' },
    });
    const orderId = await orderIdOf(handle);
    expect(await checkedEvents(orderId)).toEqual({
      order: ['order.created@1', 'order.cancelled@2'],
      payment: ['payment.authorized@1', 'payment.voided@2'],
      shipment: [],
      reservation: ['reservation.reserved@1', 'reservation.released@2'],
    });
  });

  test('failure at the last step: the capture is refunded, the shipment cancelled', async () => {
    const handle = await startSaga(stack, sampleOrder({ customerId: 'hold-7' }));
    const orderId = await orderIdOf(handle);
    expect(await checkedEvents(orderId)).toEqual({
      order: ['order.created@1', 'order.cancelled@2'],
      payment: ['payment.authorized@1', 'payment.captured@2', 'payment.refunded@3'],
      shipment: ['shipment.scheduled@1', 'shipment.cancelled@2'],
      reservation: ['reservation.reserved@1', 'reservation.released@2'],
    });
  });

  test('cancel while a step runs: the late step and its undo are one event each', async () => {
    const sagaId = `order-${randomUUID()}`;
    held = { sagaId, activity: 'scheduleShipment', gate: gate() };
    try {
      const handle = await startSaga(stack, sampleOrder(), stack.settings, sagaId);
      await held.gate.arrived;
      await handle.cancel();
      held.gate.release();
      expect(await handle.result()).toMatchObject({ status: 'COMPENSATED', failure: { cancelled: true } });
      const orderId = await orderIdOf(handle);
      const events = await checkedEvents(orderId);
      expect(events).toMatchObject({
        order: ['order.created@1', 'order.cancelled@2'],
        payment: ['payment.authorized@1', 'payment.voided@2'],
        reservation: ['reservation.reserved@1', 'reservation.released@2'],
      });
      // The schedule ran late (after the cancel) or not at all: either way its undo matches it.
      expect([[], ['shipment.scheduled@1', 'shipment.cancelled@2']]).toContainEqual(events.shipment);
    } finally {
      held.gate.release();
      held = undefined;
    }
  });

  test('every activity retried after its commit: the retries find their ledger rows and write nothing', async () => {
    const handle = await startSaga(stack, sampleOrder(), stack.settings, `order-retried-${randomUUID()}`);
    expect(await handle.result()).toMatchObject({ status: 'COMPLETED' });
    for (const step of [
      'createOrder',
      'reserveStock',
      'authorizePayment',
      'capturePayment',
      'approveOrder',
    ]) {
      expect(await attemptsOf(handle, `step/${step}`)).toEqual({ started: 1, lastAttempt: 2 });
    }
    const orderId = await orderIdOf(handle);
    expect(await checkedEvents(orderId)).toEqual({
      order: ['order.created@1', 'order.approved@2'],
      payment: ['payment.authorized@1', 'payment.captured@2'],
      shipment: ['shipment.scheduled@1'],
      reservation: ['reservation.reserved@1'],
    });
  });

  /** Starts the refund saga of an order, as the API does. */
  async function refund(orderId: string) {
    const input: RefundSagaWorkflowInput = { orderId, settings: stack.settings };
    return stack.client.workflow.start('refundSaga', {
      workflowId: refundSagaIdOf(orderId),
      taskQueue: stack.queues.orchestrator,
      args: [input],
      typedSearchAttributes: [
        { key: sagaStatusKey, value: 'RUNNING' },
        { key: orderIdKey, value: orderId },
      ],
    });
  }

  test("refund saga: its events continue each aggregate's sequence, written by the refund saga", async () => {
    const orderId = await orderIdOf(await startSaga(stack));
    const handle = await refund(orderId);
    expect(await handle.result()).toMatchObject({ status: 'COMPLETED' });
    expect(await checkedEvents(orderId)).toEqual({
      order: ['order.created@1', 'order.approved@2', 'order.refund_requested@3', 'order.refunded@4'],
      payment: ['payment.authorized@1', 'payment.captured@2', 'payment.refunded@3'],
      shipment: ['shipment.scheduled@1', 'shipment.cancelled@2'],
      reservation: ['reservation.reserved@1', 'reservation.released@2'],
    });
    const events = await eventsOf(orderId);
    expect(events.order.slice(2).map((e) => e.sagaId)).toEqual([handle.workflowId, handle.workflowId]);
    expect(events.payment[2]).toMatchObject({ sagaId: handle.workflowId, payload: { amount: SAMPLE_TOTAL } });
  });

  test('refund saga cancelled before its pivot: the request and its abort, nothing else', async () => {
    const orderId = await orderIdOf(await startSaga(stack));
    held = { sagaId: refundSagaIdOf(orderId), activity: 'requestRefund', gate: gate() };
    try {
      const handle = await refund(orderId);
      await held.gate.arrived;
      await handle.cancel();
      held.gate.release();
      expect(await handle.result()).toMatchObject({ status: 'COMPENSATED', failure: { cancelled: true } });
    } finally {
      held.gate.release();
      held = undefined;
    }
    expect((await checkedEvents(orderId)).order).toEqual([
      'order.created@1',
      'order.approved@2',
      'order.refund_requested@3',
      'order.refund_aborted@4',
    ]);
  });

  test('refund of an order that did not complete: the refund saga writes no event', async () => {
    const orderId = await orderIdOf(
      await startSaga(stack, sampleOrder({ paymentToken: 'tok_chargeDeclined' })),
    );
    const before = await checkedEvents(orderId);
    expect(await (await refund(orderId)).result()).toMatchObject({ status: 'COMPENSATED' });
    expect(await checkedEvents(orderId)).toEqual(before);
  });

  test('the invariant checker finds events and effects one to one here, and catches a lost event', async () => {
    const report = await checkStackUntil(stack, dbs, (r) => r.sagasChecked >= 10 && r.refundsChecked >= 3);
    expect(report.violations).toEqual([]);
    // A lost event in the middle of a stream: the effect has no event and the sequence has a gap.
    const handle = await startSaga(stack);
    const orderId = await orderIdOf(handle);
    await dbs.payments.outboxEvent.deleteMany({ where: { aggregateId: paymentIdOf(orderId), sequence: 1 } });
    const tampered = await checkStackUntil(stack, dbs, (r) => r.violations.length > 0);
    expect(tampered.violations).toEqual([
      {
        sagaId: handle.workflowId,
        rule: 'outbox-missing-event',
        detail: '1 effect(s) of payment.authorized, 0 event(s)',
      },
      {
        sagaId: `(payment ${paymentIdOf(orderId)})`,
        rule: 'outbox-sequence',
        detail: 'sequences 2, not 1..1',
      },
    ]);
  });
});

/**
 * The activities called directly, twice and at once, with the same idempotency key: what a duplicated
 * activity task or a retry racing its first attempt does. The second call finds the first one's ledger
 * row (or loses the race on its unique key) and writes no event.
 */
describe('outbox: duplicated activities', () => {
  const dbs = openServiceDbs();
  const orders = createOrdersActivities(dbs.orders);
  const payments = createPaymentsActivities(dbs.payments, dbs.provider);
  const shipments = createShipmentsActivities(dbs.shipments);
  const inventory = createInventoryActivities(dbs.inventory);
  afterAll(() => dbs.close());

  const count = async (orderId: string) =>
    (
      await Promise.all([
        dbs.orders.outboxEvent.count({ where: { aggregateId: orderId } }),
        dbs.payments.outboxEvent.count({ where: { aggregateId: paymentIdOf(orderId) } }),
        dbs.shipments.outboxEvent.count({ where: { aggregateId: shipmentIdOf(orderId) } }),
        dbs.inventory.outboxEvent.count({ where: { aggregateId: reservationIdOf(orderId) } }),
      ])
    ).join(' ');
  /** Runs the call twice at once, then once more: the same outcome every time. */
  async function thrice<T>(call: () => Promise<T>): Promise<T> {
    const [a, b] = await Promise.all([call(), call()]);
    const c = await call();
    expect([b, c]).toEqual([a, a]);
    return a;
  }

  test('every effect activity, duplicated, writes one event', async () => {
    const sagaId = `order-${randomUUID()}`;
    const orderId = `ord_${randomUUID()}`;
    const order = sampleOrder();
    const meta = (step: string): ActivityMeta => ({ sagaId, idempotencyKey: `${sagaId}/${step}` });
    const input = {
      orderId,
      customerId: order.customerId,
      currency: order.currency,
      items: order.items,
      shippingAddress: order.shippingAddress,
      totalAmount: SAMPLE_TOTAL,
    };
    await thrice(() => orders.createOrder(input, meta('createOrder')));
    await thrice(() => inventory.reserveStock({ orderId, items: order.items }, meta('reserveStock')));
    const authorize = { orderId, amount: SAMPLE_TOTAL, currency: 'EUR', paymentToken: 'tok_visa' };
    await thrice(() => payments.authorizePayment(authorize, meta('authorizePayment')));
    await thrice(() =>
      shipments.scheduleShipment({ orderId, address: order.shippingAddress }, meta('scheduleShipment')),
    );
    await thrice(() => payments.capturePayment({ orderId }, meta('capturePayment')));
    expect(await count(orderId)).toBe('1 2 1 1');
    // And the compensations, duplicated too.
    await thrice(() => shipments.cancelShipment({ orderId }, meta('scheduleShipment/compensate')));
    await thrice(() =>
      payments.releasePayment({ orderId, currency: 'EUR' }, meta('authorizePayment/compensate')),
    );
    await thrice(() => inventory.releaseStock({ orderId }, meta('reserveStock/compensate')));
    await thrice(() =>
      orders.cancelOrder(
        { orderId, customerId: order.customerId, currency: 'EUR' },
        meta('createOrder/compensate'),
      ),
    );
    expect(await count(orderId)).toBe('2 3 2 2');
    const types = await dbs.payments.outboxEvent.findMany({
      where: { aggregateId: paymentIdOf(orderId) },
      orderBy: { sequence: 'asc' },
    });
    expect(types.map((e) => [e.sequence, e.type])).toEqual([
      [1, 'payment.authorized'],
      [2, 'payment.captured'],
      [3, 'payment.refunded'],
    ]);
  });

  test('a compensation that overtakes its step leaves a tombstone and no event; the late step writes none', async () => {
    const sagaId = `order-${randomUUID()}`;
    const orderId = `ord_${randomUUID()}`;
    const meta = (step: string): ActivityMeta => ({ sagaId, idempotencyKey: `${sagaId}/${step}` });
    await shipments.cancelShipment({ orderId }, meta('scheduleShipment/compensate'));
    await expect(
      shipments.scheduleShipment(
        { orderId, address: sampleOrder().shippingAddress },
        meta('scheduleShipment'),
      ),
    ).rejects.toThrow(/already CANCELLED/);
    expect(await count(orderId)).toBe('0 0 0 0');
  });

  test('appendEvent: concurrent transactions on one aggregate get 1..n; a rolled back one leaves no gap', async () => {
    const aggregateId = `ord_${randomUUID()}`;
    const append = () =>
      dbs.orders.$transaction((tx) =>
        appendEvent(tx, {
          type: 'order.approved',
          aggregateId,
          sagaId: 's',
          payload: { orderId: aggregateId },
        }),
      );
    await append();
    await expect(
      dbs.orders.$transaction(async (tx) => {
        await appendEvent(tx, {
          type: 'order.cancelled',
          aggregateId,
          sagaId: 's',
          payload: { orderId: aggregateId },
        });
        throw new Error('the effect failed after its event was written');
      }),
    ).rejects.toThrow(/effect failed/);
    await Promise.all(Array.from({ length: 8 }, append));
    const rows = await dbs.orders.outboxEvent.findMany({
      where: { aggregateId },
      orderBy: { sequence: 'asc' },
    });
    expect(rows.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(rows.map((r) => r.type))).toEqual(new Set(['order.approved']));
    // A payload that does not fit its schema (card data here) is refused before anything is written.
    await expect(
      dbs.orders.$transaction((tx) =>
        appendEvent(tx, {
          type: 'order.approved',
          aggregateId,
          sagaId: 's',
          payload: { orderId: aggregateId, paymentToken: 'tok_visa' } as { orderId: string },
        }),
      ),
    ).rejects.toThrow(/paymentToken/);
    expect(await dbs.orders.outboxEvent.count({ where: { aggregateId } })).toBe(9);
  });
});
