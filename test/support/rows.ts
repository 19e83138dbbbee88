import { createOrdersDb } from '../../activities/orders/db';
import { createPaymentsDb } from '../../activities/payments/db';
import { createShipmentsDb } from '../../activities/shipments/db';
import { createInventoryDb } from '../../activities/inventory/db';
import { reservationIdOf } from '../../activities/inventory/activities';
import { paymentIdOf } from '../../activities/payments/activities';
import { SimulatedProvider } from '../../activities/payments/provider-store';
import { shipmentIdOf } from '../../activities/shipments/activities';
import { requireEnv, TEST_ENV } from './env';

/** Which saga run's rows to read: a saga id that has rows of one run only, or the run's order id. */
export type RunRef = string | { orderId: string };

/**
 * Reads a saga's rows straight from the service databases (and the charges from the payment
 * provider's store), to check what really happened rather than only what the workflow reports. A saga id
 * may be re-used by a later run (after Temporal's retention); every row of a run derives from its order
 * id, so rows are read by order id, and a saga id naming rows of more than one run is refused.
 */
export function openServiceDbs(options: { providerDatabaseUrl?: string } = {}) {
  const orders = createOrdersDb(requireEnv(TEST_ENV.ordersDb), 2);
  const payments = createPaymentsDb(requireEnv(TEST_ENV.paymentsDb), 2);
  const shipments = createShipmentsDb(requireEnv(TEST_ENV.shipmentsDb), 2);
  const inventory = createInventoryDb(requireEnv(TEST_ENV.inventoryDb), 2);
  const provider = new SimulatedProvider(options.providerDatabaseUrl ?? requireEnv(TEST_ENV.providerDb), 2);

  /** The order id of the only run whose rows carry this saga id (undefined while there are none). */
  async function orderIdOf(sagaId: string): Promise<string | undefined> {
    const select = { where: { sagaId }, select: { orderId: true } } as const;
    const found = await Promise.all([
      orders.order.findMany({ where: { sagaId }, select: { id: true } }),
      orders.orderOperation.findMany(select),
      payments.payment.findMany(select),
      shipments.shipment.findMany(select),
      inventory.reservation.findMany(select),
    ]);
    const ids = new Set(found.flat().map((row) => ('orderId' in row ? row.orderId : row.id)));
    if (ids.size > 1) {
      throw new Error(
        `saga ${sagaId} has rows of ${ids.size} runs (${[...ids].join(', ')}): pass the order id`,
      );
    }
    return [...ids][0];
  }

  return {
    orders,
    payments,
    shipments,
    inventory,
    provider,
    orderIdOf,
    async rowsOf(ref: RunRef) {
      const orderId = typeof ref === 'string' ? await orderIdOf(ref) : ref.orderId;
      // No rows yet: an id that matches nothing, so every read below comes back empty.
      const id = orderId ?? '(none)';
      const paymentId = paymentIdOf(id);
      const shipmentId = shipmentIdOf(id);
      const reservationId = reservationIdOf(id);
      const [
        order,
        payment,
        shipment,
        reservation,
        orderOps,
        paymentOps,
        shipmentOps,
        inventoryOps,
        charges,
      ] = await Promise.all([
        orders.order.findUnique({ where: { id } }),
        payments.payment.findUnique({ where: { id: paymentId } }),
        shipments.shipment.findUnique({ where: { id: shipmentId } }),
        inventory.reservation.findUnique({ where: { id: reservationId } }),
        orders.orderOperation.findMany({ where: { orderId: id }, orderBy: { id: 'asc' } }),
        payments.paymentOperation.findMany({ where: { paymentId }, orderBy: { id: 'asc' } }),
        shipments.shipmentOperation.findMany({ where: { shipmentId }, orderBy: { id: 'asc' } }),
        inventory.inventoryOperation.findMany({ where: { reservationId }, orderBy: { id: 'asc' } }),
        provider.chargesOf(paymentId),
      ]);
      const effects = (ops: { operation: string; outcome: unknown }[]) =>
        ops.map((op) => `${op.operation}:${(op.outcome as { effect?: string }).effect}`);
      return {
        orderId,
        order,
        payment,
        shipment,
        reservation,
        /** The payment provider's charges for the run's payment. */
        charges,
        effects: {
          orders: effects(orderOps),
          payments: effects(paymentOps),
          shipments: effects(shipmentOps),
          inventory: effects(inventoryOps),
        },
        /** The ledger rows themselves (sagaId included), for checks across runs. */
        ledger: { orders: orderOps, payments: paymentOps, shipments: shipmentOps, inventory: inventoryOps },
      };
    },
    async close() {
      await Promise.all([
        orders.$disconnect(),
        payments.$disconnect(),
        shipments.$disconnect(),
        inventory.$disconnect(),
        provider.close(),
      ]);
    },
  };
}
