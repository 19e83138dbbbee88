import { randomUUID } from 'node:crypto';
import { createOrdersActivities } from '../../activities/orders/activities';
import { createPaymentsActivities } from '../../activities/payments/activities';
import { createShipmentsActivities } from '../../activities/shipments/activities';
import { createInventoryActivities } from '../../activities/inventory/activities';
import { seedStock } from '../../activities/inventory/seed';
import { requireEnv, TEST_ENV } from '../support/env';
import { openServiceDbs } from '../support/rows';
import { sampleOrder, SAMPLE_TOTAL } from '../support/orders';

/**
 * A user cancel runs a step's compensation while the step itself may still be running (the engine does not
 * wait for an uncertain step). Whichever commits first, the compensation must win: these run both at once,
 * many times, against the real databases (found by the chaos run).
 */
describe('a compensation racing the step it undoes', () => {
  const dbs = openServiceDbs();
  afterAll(() => dbs.close());
  const meta = (sagaId: string, key: string) => ({ sagaId, idempotencyKey: `${sagaId}/${key}`, attempt: 1 });
  const ROUNDS = 40;

  test('createOrder vs cancelOrder: the order always ends CANCELLED', async () => {
    const orders = createOrdersActivities(dbs.orders);
    const order = sampleOrder();
    for (let i = 0; i < ROUNDS; i++) {
      const sagaId = `order-race-${randomUUID()}`;
      const orderId = `ord_${randomUUID()}`;
      await Promise.allSettled([
        orders.createOrder({ orderId, ...order, totalAmount: SAMPLE_TOTAL }, meta(sagaId, 'createOrder')),
        orders.cancelOrder(
          { orderId, customerId: order.customerId, currency: 'EUR' },
          meta(sagaId, 'createOrder/compensate'),
        ),
      ]);
      expect((await dbs.orders.order.findUnique({ where: { id: orderId } }))?.status).toBe('CANCELLED');
      expect(await dbs.orders.order.count({ where: { sagaId } })).toBe(1);
    }
  });

  test('scheduleShipment vs cancelShipment: the shipment always ends CANCELLED', async () => {
    const shipments = createShipmentsActivities(dbs.shipments);
    for (let i = 0; i < ROUNDS; i++) {
      const sagaId = `order-race-${randomUUID()}`;
      const orderId = `ord_${randomUUID()}`;
      await Promise.allSettled([
        shipments.scheduleShipment(
          { orderId, address: sampleOrder().shippingAddress },
          meta(sagaId, 'scheduleShipment'),
        ),
        shipments.cancelShipment({ orderId }, meta(sagaId, 'scheduleShipment/compensate')),
      ]);
      expect((await dbs.rowsOf({ orderId })).shipment?.status).toBe('CANCELLED');
      expect(await dbs.shipments.shipment.count({ where: { sagaId } })).toBe(1);
    }
  });

  test('authorizePayment vs releasePayment: no payment is left authorized', async () => {
    const payments = createPaymentsActivities(dbs.payments, dbs.provider);
    for (let i = 0; i < ROUNDS; i++) {
      const sagaId = `order-race-${randomUUID()}`;
      const orderId = `ord_${randomUUID()}`;
      await Promise.allSettled([
        payments.authorizePayment(
          { orderId, amount: 100, currency: 'EUR', paymentToken: 'tok_visa' },
          meta(sagaId, 'authorizePayment'),
        ),
        payments.releasePayment({ orderId, currency: 'EUR' }, meta(sagaId, 'authorizePayment/compensate')),
      ]);
      const rows = await dbs.rowsOf({ orderId });
      expect(rows.payment?.status).toBe('VOIDED');
      // Nor at the provider: whichever came first, no money stays held.
      expect(rows.charges.filter((c) => c.status === 'authorized' || c.status === 'captured')).toEqual([]);
      expect(rows.charges.length).toBeLessThanOrEqual(1);
    }
  });

  test('reserveStock vs releaseStock: no unit stays held and none is made up', async () => {
    const inventory = createInventoryActivities(dbs.inventory);
    const sku = `race-${randomUUID().slice(0, 8)}`;
    await seedStock(requireEnv(TEST_ENV.inventoryDb), { [sku]: 5 });
    for (let i = 0; i < ROUNDS; i++) {
      const sagaId = `order-race-${randomUUID()}`;
      const orderId = `ord_${randomUUID()}`;
      await Promise.allSettled([
        inventory.reserveStock({ orderId, items: [{ sku, quantity: 2 }] }, meta(sagaId, 'reserveStock')),
        inventory.releaseStock({ orderId }, meta(sagaId, 'reserveStock/compensate')),
      ]);
      expect((await dbs.rowsOf({ orderId })).reservation?.status).toBe('RELEASED');
      expect(await dbs.inventory.stock.findUniqueOrThrow({ where: { sku } })).toMatchObject({
        available: 5,
        onHand: 5,
      });
    }
  });
});
