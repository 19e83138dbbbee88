import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createOrdersDb } from '../../activities/orders/db';
import { createPaymentsDb } from '../../activities/payments/db';
import { createShipmentsDb } from '../../activities/shipments/db';
import { createInventoryDb } from '../../activities/inventory/db';
import { seedStock } from '../../activities/inventory/seed';
import { ensureDatabase, quoteIdentifier } from '../../scripts/db/ensure-database';
import { applyMigrations } from '../../scripts/db/migrate';
import { SERVICES, type ServiceName } from '../../shared/config';
import { requireEnv, TEST_ENV } from '../support/env';

/**
 * The committed migrations, applied by our own deploy step to empty databases, give exactly what each
 * Prisma schema describes: every model is written and read through the generated client.
 */
const MIGRATIONS = (service: string) => path.resolve(__dirname, '../../prisma', service, 'migrations');
const OUTBOX_MIGRATION = '20261211120000_outbox';
const OUTBOX_UNPUBLISHED_MIGRATION = '20261212120000_outbox_unpublished';

/** The outbox tables are the same in every service's database; so is this part of each client. */
type OutboxClient = Pick<ReturnType<typeof createOrdersDb>, 'outboxEvent' | 'outboxSequence' | '$disconnect'>;
function outboxClient(service: ServiceName, url: string): OutboxClient {
  const create = {
    orders: createOrdersDb,
    payments: createPaymentsDb,
    shipments: createShipmentsDb,
    inventory: createInventoryDb,
  }[service];
  return create(url, 1) as unknown as OutboxClient;
}

describe('migrations', () => {
  const created: string[] = [];
  const scratch = async () => {
    const url = new URL(requireEnv(TEST_ENV.ordersDb));
    url.pathname = `/saga_scratch_${randomUUID().slice(0, 8)}`;
    await ensureDatabase(url.toString());
    created.push(url.toString());
    return url.toString();
  };

  afterAll(async () => {
    for (const url of created) {
      const admin = new URL(url);
      const name = admin.pathname.slice(1);
      admin.pathname = '/postgres';
      const client = new Client({ connectionString: admin.toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
      await client.end();
    }
  });

  test('orders: applied once, then a no-op; every model works through the client', async () => {
    const url = await scratch();
    expect((await applyMigrations(url, MIGRATIONS('orders'))).applied).toHaveLength(5);
    expect((await applyMigrations(url, MIGRATIONS('orders'))).applied).toEqual([]);
    const db = createOrdersDb(url, 1);
    try {
      await db.order.create({
        data: {
          id: 'o1',
          sagaId: 's1',
          customerId: 'c',
          currency: 'EUR',
          totalAmount: 5,
          items: [],
          shippingAddress: {},
          status: 'PENDING',
        },
      });
      await db.orderOperation.create({
        data: {
          idempotencyKey: 'k',
          sagaId: 's1',
          orderId: 'o1',
          operation: 'create',
          outcome: { effect: 'created' },
        },
      });
      expect(await db.order.findFirst({ where: { sagaId: 's1' } })).toMatchObject({
        status: 'PENDING',
        cancelledBeforeCreate: false,
      });
      // A saga id re-used after Temporal's retention: the new run's order has its own id.
      await db.order.create({
        data: {
          id: 'o2',
          sagaId: 's1',
          customerId: 'c',
          currency: 'EUR',
          totalAmount: 5,
          items: [],
          shippingAddress: {},
          status: 'PENDING',
        },
      });
      expect(await db.order.count({ where: { sagaId: 's1' } })).toBe(2);
      await expect(
        db.orderOperation.create({
          data: { idempotencyKey: 'k', sagaId: 's1', orderId: 'o1', operation: 'create', outcome: {} },
        }),
      ).rejects.toMatchObject({ code: 'P2002' });
    } finally {
      await db.$disconnect();
    }
  });

  test('orders: a database from before refunds gets them, its orders kept and refundable', async () => {
    const url = await scratch();
    const before = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    for (const name of ['20261122220000_init', '20261201120000_saga_id_not_unique', 'migration_lock.toml']) {
      cpSync(path.join(MIGRATIONS('orders'), name), path.join(before, name), { recursive: true });
    }
    await applyMigrations(url, before);
    const old = new Client({ connectionString: url });
    await old.connect();
    await old.query(
      `INSERT INTO "Order" (id, "sagaId", "customerId", currency, "totalAmount", items, "shippingAddress", status, "updatedAt")
       VALUES ('o1', 's1', 'c', 'EUR', 5, '[]', '{}', 'APPROVED', now())`,
    );
    await old.end();
    expect((await applyMigrations(url, MIGRATIONS('orders'))).applied).toEqual([
      '20261210120000_refunds',
      OUTBOX_MIGRATION,
      OUTBOX_UNPUBLISHED_MIGRATION,
    ]);
    const db = createOrdersDb(url, 1);
    try {
      expect(await db.order.findUnique({ where: { id: 'o1' } })).toMatchObject({
        status: 'APPROVED',
        refundAbortedBy: null,
      });
      for (const status of ['REFUND_REQUESTED', 'REFUNDED'] as const) {
        await db.order.update({ where: { id: 'o1' }, data: { status } });
        expect((await db.order.findUnique({ where: { id: 'o1' } }))?.status).toBe(status);
      }
      await db.order.update({ where: { id: 'o1' }, data: { refundAbortedBy: 'refund-o1' } });
      expect(await db.order.count({ where: { refundAbortedBy: 'refund-o1' } })).toBe(1);
    } finally {
      await db.$disconnect();
    }
  });

  test('payments and shipments: every model works through the client', async () => {
    const payUrl = await scratch();
    await applyMigrations(payUrl, MIGRATIONS('payments'));
    const pay = createPaymentsDb(payUrl, 1);
    const shipUrl = await scratch();
    await applyMigrations(shipUrl, MIGRATIONS('shipments'));
    const ship = createShipmentsDb(shipUrl, 1);
    try {
      await pay.payment.create({
        data: { id: 'p1', sagaId: 's1', orderId: 'o1', amount: 5, currency: 'EUR', status: 'AUTHORIZED' },
      });
      await pay.paymentOperation.create({
        data: {
          idempotencyKey: 'k',
          sagaId: 's1',
          paymentId: 'p1',
          operation: 'authorize',
          amount: 5,
          outcome: {},
        },
      });
      await pay.providerFault.create({ data: { id: 'f', sagaId: 's1', operation: 'release', message: 'm' } });
      expect(await pay.payment.count()).toBe(1);
      // A saga id re-used after Temporal's retention: the new run's payment has its own id.
      await pay.payment.create({
        data: { id: 'p2', sagaId: 's1', orderId: 'o2', amount: 5, currency: 'EUR', status: 'AUTHORIZED' },
      });
      expect(await pay.payment.count({ where: { sagaId: 's1' } })).toBe(2);
      await ship.shipment.create({
        data: {
          id: 'h1',
          sagaId: 's1',
          orderId: 'o1',
          address: {},
          status: 'SCHEDULED',
          trackingNumber: 't',
        },
      });
      await ship.shipmentOperation.create({
        data: { idempotencyKey: 'k', sagaId: 's1', shipmentId: 'h1', operation: 'schedule', outcome: {} },
      });
      await ship.shipment.create({
        data: { id: 'h2', sagaId: 's1', orderId: 'o2', address: {}, status: 'SCHEDULED' },
      });
      expect(await ship.shipment.count({ where: { sagaId: 's1' } })).toBe(2);
      expect(await ship.shipment.findFirst({ where: { id: 'h1' } })).toMatchObject({
        status: 'SCHEDULED',
        cancelledBeforeSchedule: false,
      });
    } finally {
      await pay.$disconnect();
      await ship.$disconnect();
    }
  });

  test('inventory: every model works through the client; the database refuses stock below zero or above on hand', async () => {
    const url = await scratch();
    await applyMigrations(url, MIGRATIONS('inventory'));
    const db = createInventoryDb(url, 1);
    try {
      expect(await seedStock(url, { 'sku-a': 2 })).toBe(1);
      // Seeding again keeps the level: it never undoes what sagas reserved.
      await db.stock.update({ where: { sku: 'sku-a' }, data: { available: 1 } });
      expect(await seedStock(url, { 'sku-a': 2, 'sku-b': 3 })).toBe(1);
      expect(await db.stock.findMany({ orderBy: { sku: 'asc' } })).toEqual([
        expect.objectContaining({ sku: 'sku-a', available: 1, onHand: 2 }),
        expect.objectContaining({ sku: 'sku-b', available: 3, onHand: 3 }),
      ]);
      await expect(
        db.stock.update({ where: { sku: 'sku-a' }, data: { available: { decrement: 2 } } }),
      ).rejects.toThrow(/Stock_available_not_negative|check constraint/i);
      await expect(db.stock.update({ where: { sku: 'sku-a' }, data: { available: 3 } })).rejects.toThrow(
        /Stock_available_within_on_hand|check constraint/i,
      );
      expect((await db.stock.findUniqueOrThrow({ where: { sku: 'sku-a' } })).available).toBe(1);
      await db.reservation.create({
        data: {
          id: 'r1',
          sagaId: 's1',
          orderId: 'o1',
          items: [{ sku: 'sku-a', quantity: 1 }],
          status: 'RESERVED',
        },
      });
      await db.inventoryOperation.create({
        data: { idempotencyKey: 'k', sagaId: 's1', reservationId: 'r1', operation: 'reserve', outcome: {} },
      });
      expect(await db.reservation.findUniqueOrThrow({ where: { id: 'r1' } })).toMatchObject({
        status: 'RESERVED',
        releasedBeforeReserve: false,
      });
    } finally {
      await db.$disconnect();
    }
  });

  test.each(SERVICES)(
    '%s: the outbox comes on top of the earlier migrations; one event per aggregate sequence',
    async (service) => {
      const url = await scratch();
      const before = mkdtempSync(path.join(tmpdir(), 'migrations-'));
      cpSync(MIGRATIONS(service), before, { recursive: true });
      rmSync(path.join(before, OUTBOX_MIGRATION), { recursive: true });
      rmSync(path.join(before, OUTBOX_UNPUBLISHED_MIGRATION), { recursive: true });
      expect((await applyMigrations(url, before)).applied.length).toBeGreaterThan(0);
      // New tables only: the earlier ones are left as they are.
      expect((await applyMigrations(url, MIGRATIONS(service))).applied).toEqual([
        OUTBOX_MIGRATION,
        OUTBOX_UNPUBLISHED_MIGRATION,
      ]);
      // The relay's partial index: unpublished rows only.
      const pg = new Client({ connectionString: url });
      await pg.connect();
      const { rows: indexes } = await pg.query<{ indexdef: string }>(
        `SELECT indexdef FROM pg_indexes WHERE indexname = 'OutboxEvent_unpublished_idx'`,
      );
      await pg.end();
      expect(indexes.map((i) => i.indexdef)).toEqual([
        expect.stringMatching(/WHERE \("publishedAt" IS NULL\)/),
      ]);
      const db = outboxClient(service, url);
      try {
        const event = (sequence: number) => ({
          id: randomUUID(),
          aggregateType: 'order',
          aggregateId: 'o1',
          sequence,
          type: 'order.created',
          payload: { orderId: 'o1' },
          occurredAt: new Date(),
          sagaId: 's1',
        });
        await db.outboxEvent.create({ data: event(1) });
        await db.outboxSequence.create({ data: { aggregateType: 'order', aggregateId: 'o1', last: 1 } });
        expect(await db.outboxEvent.findFirst({ where: { aggregateId: 'o1' } })).toMatchObject({
          sequence: 1,
          publishedAt: null,
        });
        await expect(db.outboxEvent.create({ data: event(1) })).rejects.toMatchObject({ code: 'P2002' });
        await expect(db.outboxEvent.create({ data: event(0) })).rejects.toThrow(
          /OutboxEvent_sequence_positive|check constraint/i,
        );
      } finally {
        await db.$disconnect();
      }
    },
  );

  test('an edited migration is refused', async () => {
    const url = await scratch();
    const copy = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    cpSync(MIGRATIONS('shipments'), copy, { recursive: true });
    await applyMigrations(url, copy);
    appendFileSync(path.join(copy, '20261122220000_init', 'migration.sql'), '\n-- edited\n');
    await expect(applyMigrations(url, copy)).rejects.toThrow(/edited after it was applied/);
  });
});
