import { randomUUID } from 'node:crypto';
import { createInventoryActivities, reservationIdOf } from '../../activities/inventory/activities';
import { createInventoryDb } from '../../activities/inventory/db';
import { seedStock } from '../../activities/inventory/seed';
import type { ActivityMeta } from '../../shared/activity-meta';
import type { OrderRequest } from '../../shared/order';
import { requireEnv, TEST_ENV } from '../support/env';
import { checkStackUntil } from '../support/invariants';
import { sampleOrder, startSaga, stateOf } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';

/**
 * The inventory service against its real database, alone and inside real order sagas (version 2 reserves
 * stock before payment). Every test stocks SKUs of its own, so the levels it checks are its own whatever
 * other test files run beside it; the rows, not only what the workflow reports, are checked.
 */

const uniqueSku = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const inventoryUrl = requireEnv(TEST_ENV.inventoryDb);

/** The sample order, buying only the given lines (at the sample's unit price). */
function orderOf(lines: { sku: string; quantity: number }[], overrides: Partial<OrderRequest> = {}) {
  return sampleOrder({
    items: lines.map((line) => ({ ...line, unitPrice: 1250 })),
    ...overrides,
  });
}

describe('inventory in order sagas', () => {
  let stack: Stack;
  const dbs = openServiceDbs();
  // A client of its own, as a stock keeper would use, for the raw statements.
  const inventoryDb = createInventoryDb(inventoryUrl, 2);
  const stockOf = (sku: string) =>
    dbs.inventory.stock.findUniqueOrThrow({ where: { sku }, select: { available: true, onHand: true } });

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
    await inventoryDb.$disconnect();
    await dbs.close();
  });

  test('six sagas race for the last unit: one completes, the others compensate with OutOfStock', async () => {
    const sku = uniqueSku('last');
    expect(await seedStock(inventoryUrl, { [sku]: 1 })).toBe(1);
    const handles = await Promise.all(
      Array.from({ length: 6 }, () => startSaga(stack, orderOf([{ sku, quantity: 1 }]))),
    );
    const outcomes = await Promise.all(handles.map((handle) => handle.result()));

    const won = outcomes.flatMap((outcome, i) => (outcome.status === 'COMPLETED' ? [handles[i]!] : []));
    const lost = outcomes.flatMap((outcome, i) => (outcome.status === 'COMPLETED' ? [] : [handles[i]!]));
    expect(won).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === 'COMPENSATED')).toHaveLength(5);
    for (const outcome of outcomes.filter((o) => o.status === 'COMPENSATED')) {
      expect(outcome.failure).toMatchObject({ step: 'reserveStock', cancelled: false });
      expect(outcome.failure?.reason).toMatch(/OutOfStock/);
      expect(outcome.failure?.reason).toContain(`out of stock: ${sku} has 0 of 1 available`);
    }

    // The unit is held by the winner's reservation: none left, none created or lost.
    expect(await stockOf(sku)).toEqual({ available: 0, onHand: 1 });
    const holding = await dbs.inventory.$queryRaw<{ id: string; orderId: string }[]>`
      SELECT id, "orderId" FROM "Reservation"
      WHERE status = 'RESERVED' AND items @> ${JSON.stringify([{ sku }])}::jsonb`;
    const winner = await dbs.rowsOf(won[0]!.workflowId);
    expect(holding).toEqual([{ id: reservationIdOf(winner.orderId!), orderId: winner.orderId }]);
    expect(winner.order?.status).toBe('APPROVED');
    expect(winner.reservation).toMatchObject({ status: 'RESERVED', items: [{ sku, quantity: 1 }] });
    expect(winner.payment?.status).toBe('CAPTURED');
    expect(winner.shipment?.status).toBe('SCHEDULED');
    expect(winner.effects.inventory).toEqual(['reserve:reserved']);

    for (const handle of lost) {
      const rows = await dbs.rowsOf(handle.workflowId);
      expect(rows.order?.status).toBe('CANCELLED');
      // Payment comes after the reservation: nothing was authorized, not even asked of the provider.
      expect(rows.payment).toBeNull();
      expect(rows.effects.payments).toEqual([]);
      expect(rows.charges).toEqual([]);
      expect(rows.shipment).toBeNull();
      // The failed reservation recorded that it held nothing; its compensation still ran and left a tombstone.
      expect(rows.effects.inventory).toEqual(['reserve:none', 'release:tombstone']);
      expect(rows.reservation).toMatchObject({ status: 'RELEASED', releasedBeforeReserve: true, items: [] });
      const state = await stateOf(handle);
      expect(state.steps.find((step) => step.name === 'reserveStock')).toMatchObject({
        status: 'FAILED',
        attempts: 1,
      });
      expect(state.compensations.map((c) => [c.activity, c.status])).toEqual([
        ['releaseStock', 'SUCCEEDED'],
        ['cancelOrder', 'SUCCEEDED'],
      ]);
    }

    const report = await checkStackUntil(stack, dbs, (r) => r.sagasChecked >= 6);
    expect(report.sagasChecked).toBe(6);
    expect(report.byStatus).toEqual({ COMPLETED: 1, COMPENSATED: 5 });
    expect(report.violations).toEqual([]);
    // Losing the race is no fault's doing: the checker must not count these as rolled back by a fault.
    expect(report.compensatedWouldHaveCompleted).toEqual([]);
    expect(report.undetermined).toEqual([]);
  });

  test('the database refuses negative stock (and more available than on hand), whatever the code does', async () => {
    const sku = uniqueSku('check');
    await seedStock(inventoryUrl, { [sku]: 3 });
    await expect(
      inventoryDb.$executeRawUnsafe(`UPDATE "Stock" SET available = -1 WHERE sku = $1`, sku),
    ).rejects.toThrow(/Stock_available_not_negative/);
    await expect(
      inventoryDb.$executeRawUnsafe(`UPDATE "Stock" SET available = "onHand" + 1 WHERE sku = $1`, sku),
    ).rejects.toThrow(/Stock_available_within_on_hand/);
    expect(await stockOf(sku)).toEqual({ available: 3, onHand: 3 });
    // The statement itself is fine: levels within the bounds are accepted. (Both change, so the units still
    // add up for the invariant checker that other tests run at the same time.)
    expect(
      await inventoryDb.$executeRawUnsafe(
        `UPDATE "Stock" SET available = 0, "onHand" = 0 WHERE sku = $1`,
        sku,
      ),
    ).toBe(1);
    expect(await stockOf(sku)).toEqual({ available: 0, onHand: 0 });
  });

  test('all or nothing: when the last SKU is short, the first is not held either', async () => {
    const id = randomUUID().slice(0, 8);
    // SKUs are reserved in SKU order: the short one comes last, after the plentiful one was checked.
    const plenty = `all-${id}-a`;
    const short = `all-${id}-b`;
    await seedStock(inventoryUrl, { [plenty]: 10, [short]: 2 });
    const handle = await startSaga(
      stack,
      orderOf([
        { sku: plenty, quantity: 2 },
        { sku: short, quantity: 3 },
      ]),
    );
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure).toMatchObject({ step: 'reserveStock', cancelled: false });
    expect(outcome.failure?.reason).toMatch(/^OutOfStock: /);
    expect(outcome.failure?.reason).toContain(`${short} has 2 of 3 available`);
    expect(await stockOf(plenty)).toEqual({ available: 10, onHand: 10 });
    expect(await stockOf(short)).toEqual({ available: 2, onHand: 2 });
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment).toBeNull();
    expect(rows.reservation).toMatchObject({ status: 'RELEASED', releasedBeforeReserve: true, items: [] });
    expect(rows.effects.inventory).toEqual(['reserve:none', 'release:tombstone']);
  });

  test('an unstocked SKU is out of stock too, and nothing is held', async () => {
    const stocked = uniqueSku('stocked');
    const unknown = uniqueSku('never-stocked');
    await seedStock(inventoryUrl, { [stocked]: 5 });
    const handle = await startSaga(
      stack,
      orderOf([
        { sku: stocked, quantity: 1 },
        { sku: unknown, quantity: 1 },
      ]),
    );
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'COMPENSATED', failure: { step: 'reserveStock' } });
    expect(outcome.failure?.reason).toContain(`${unknown} is not stocked`);
    expect(await stockOf(stocked)).toEqual({ available: 5, onHand: 5 });
    expect(await dbs.inventory.stock.findUnique({ where: { sku: unknown } })).toBeNull();
  });

  test('a saga failing after its reservation (payment declined) puts the stock back', async () => {
    const sku = uniqueSku('declined');
    await seedStock(inventoryUrl, { [sku]: 4 });
    const before = await stockOf(sku);
    const handle = await startSaga(
      stack,
      orderOf([{ sku, quantity: 3 }], { paymentToken: 'tok_chargeDeclined' }),
    );
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure).toMatchObject({ step: 'authorizePayment', cancelled: false });
    expect(outcome.failure?.reason).toMatch(/PaymentDeclined/);
    const state = await stateOf(handle);
    expect(state.compensations.map((c) => [c.activity, c.status])).toEqual([
      ['releasePayment', 'SUCCEEDED'],
      ['releaseStock', 'SUCCEEDED'],
      ['cancelOrder', 'SUCCEEDED'],
    ]);
    expect(await stockOf(sku)).toEqual(before);
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment?.status).toBe('DECLINED');
    // The reservation it made, not a tombstone: the release addressed what reserveStock returned.
    expect(rows.reservation).toMatchObject({
      status: 'RELEASED',
      releasedBeforeReserve: false,
      items: [{ sku, quantity: 3 }],
    });
    expect(rows.effects.inventory).toEqual(['reserve:reserved', 'release:released']);
  });
});

/** The activities called directly (as Temporal would retry or duplicate them), against the real database. */
describe('inventory activities', () => {
  const db = createInventoryDb(inventoryUrl, 2);
  const inventory = createInventoryActivities(db);
  afterAll(() => db.$disconnect());
  const meta = (sagaId: string, key: string): ActivityMeta => ({
    sagaId,
    idempotencyKey: `${sagaId}/${key}`,
  });
  const availableOf = async (sku: string) => (await db.stock.findUniqueOrThrow({ where: { sku } })).available;
  const ledgerOf = async (orderId: string) =>
    (
      await db.inventoryOperation.findMany({
        where: { reservationId: reservationIdOf(orderId) },
        orderBy: { id: 'asc' },
      })
    ).map((op) => `${op.operation}:${(op.outcome as { effect?: string }).effect}`);
  let sku: string;
  beforeEach(async () => {
    sku = uniqueSku('idem');
    await seedStock(inventoryUrl, { [sku]: 10 });
  });

  test('reserveStock twice with one idempotency key holds the units once and answers the same', async () => {
    const sagaId = `order-${randomUUID()}`;
    const orderId = `ord_${randomUUID()}`;
    const input = { orderId, items: [{ sku, quantity: 3 }] };
    const first = await inventory.reserveStock(input, meta(sagaId, 'reserveStock'));
    const again = await inventory.reserveStock(input, meta(sagaId, 'reserveStock'));
    expect(first).toEqual({
      reservationId: reservationIdOf(orderId),
      status: 'RESERVED',
      items: [{ sku, quantity: 3 }],
    });
    expect(again).toEqual(first);
    expect(await availableOf(sku)).toBe(7);
    expect(await ledgerOf(orderId)).toEqual(['reserve:reserved']);
    // Both at once, too (a duplicated delivery): still once.
    const other = `ord_${randomUUID()}`;
    const both = await Promise.all([
      inventory.reserveStock({ orderId: other, items: [{ sku, quantity: 2 }] }, meta(sagaId, 'dup')),
      inventory.reserveStock({ orderId: other, items: [{ sku, quantity: 2 }] }, meta(sagaId, 'dup')),
    ]);
    expect(both[1]).toEqual(both[0]);
    expect(await availableOf(sku)).toBe(5);
    expect(await ledgerOf(other)).toEqual(['reserve:reserved']);
  });

  test('releaseStock twice puts the units back once', async () => {
    const sagaId = `order-${randomUUID()}`;
    const orderId = `ord_${randomUUID()}`;
    const reserved = await inventory.reserveStock(
      { orderId, items: [{ sku, quantity: 4 }] },
      meta(sagaId, 'reserveStock'),
    );
    expect(await availableOf(sku)).toBe(6);
    const release = { orderId, reservationId: reserved.reservationId };
    const first = await inventory.releaseStock(release, meta(sagaId, 'reserveStock/compensate'));
    const again = await inventory.releaseStock(release, meta(sagaId, 'reserveStock/compensate'));
    expect(first).toEqual({
      reservationId: reserved.reservationId,
      status: 'RELEASED',
      items: [{ sku, quantity: 4 }],
    });
    expect(again).toEqual(first);
    // Another caller's key (e.g. a later restock) finds nothing left to release either.
    await inventory.releaseStock({ orderId }, meta(sagaId, 'restock'));
    expect(await availableOf(sku)).toBe(10);
    expect(await db.reservation.findUnique({ where: { id: reserved.reservationId } })).toMatchObject({
      status: 'RELEASED',
      releasedBeforeReserve: false,
    });
    expect(await ledgerOf(orderId)).toEqual(['reserve:reserved', 'release:released', 'release:none']);
  });

  test('releaseStock before reserveStock leaves a tombstone: the late reservation holds nothing', async () => {
    const sagaId = `order-${randomUUID()}`;
    const orderId = `ord_${randomUUID()}`;
    const released = await inventory.releaseStock({ orderId }, meta(sagaId, 'reserveStock/compensate'));
    expect(released).toEqual({ reservationId: reservationIdOf(orderId), status: 'RELEASED', items: [] });
    expect(await db.reservation.findUnique({ where: { id: reservationIdOf(orderId) } })).toMatchObject({
      status: 'RELEASED',
      releasedBeforeReserve: true,
      items: [],
    });
    await expect(
      inventory.reserveStock({ orderId, items: [{ sku, quantity: 1 }] }, meta(sagaId, 'reserveStock')),
    ).rejects.toMatchObject({ type: 'InvalidTransition', nonRetryable: true });
    expect(await availableOf(sku)).toBe(10);
    expect(await db.reservation.findUnique({ where: { id: reservationIdOf(orderId) } })).toMatchObject({
      status: 'RELEASED',
      items: [],
    });
    expect(await ledgerOf(orderId)).toEqual(['release:tombstone', 'reserve:none']);
  });

  test("releaseStock of a reservation that is not the order's is refused and releases nothing", async () => {
    const sagaId = `order-${randomUUID()}`;
    const orderId = `ord_${randomUUID()}`;
    const otherOrder = `ord_${randomUUID()}`;
    const reserved = await inventory.reserveStock(
      { orderId: otherOrder, items: [{ sku, quantity: 2 }] },
      meta(sagaId, 'reserveStock'),
    );
    await expect(
      inventory.releaseStock(
        { orderId, reservationId: reserved.reservationId },
        meta(sagaId, 'reserveStock/compensate'),
      ),
    ).rejects.toMatchObject({ type: 'InvalidOrder', nonRetryable: true });
    expect(await availableOf(sku)).toBe(8);
    expect(await db.reservation.findUnique({ where: { id: reserved.reservationId } })).toMatchObject({
      status: 'RESERVED',
    });
    // Neither the other order's reservation nor this order's was touched or tombstoned.
    expect(await db.reservation.findUnique({ where: { id: reservationIdOf(orderId) } })).toBeNull();
    expect(await ledgerOf(orderId)).toEqual([]);
  });
});
