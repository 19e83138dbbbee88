import { createOrdersDb } from '../../activities/orders/db';
import { createPaymentsDb } from '../../activities/payments/db';
import { createShipmentsDb } from '../../activities/shipments/db';
import { requireEnv, TEST_ENV } from './env';

/**
 * Reads a saga's rows straight from the three service databases, to check what really happened rather
 * than only what the workflow reports.
 */
export function openServiceDbs() {
  const orders = createOrdersDb(requireEnv(TEST_ENV.ordersDb), 2);
  const payments = createPaymentsDb(requireEnv(TEST_ENV.paymentsDb), 2);
  const shipments = createShipmentsDb(requireEnv(TEST_ENV.shipmentsDb), 2);
  return {
    orders,
    payments,
    shipments,
    async rowsOf(sagaId: string) {
      const [order, payment, shipment, orderOps, paymentOps, shipmentOps] = await Promise.all([
        orders.order.findUnique({ where: { sagaId } }),
        payments.payment.findUnique({ where: { sagaId } }),
        shipments.shipment.findUnique({ where: { sagaId } }),
        orders.orderOperation.findMany({ where: { sagaId }, orderBy: { id: 'asc' } }),
        payments.paymentOperation.findMany({ where: { sagaId }, orderBy: { id: 'asc' } }),
        shipments.shipmentOperation.findMany({ where: { sagaId }, orderBy: { id: 'asc' } }),
      ]);
      const effects = (ops: { operation: string; outcome: unknown }[]) =>
        ops.map((op) => `${op.operation}:${(op.outcome as { effect?: string }).effect}`);
      return {
        order,
        payment,
        shipment,
        effects: {
          orders: effects(orderOps),
          payments: effects(paymentOps),
          shipments: effects(shipmentOps),
        },
      };
    },
    async close() {
      await Promise.all([orders.$disconnect(), payments.$disconnect(), shipments.$disconnect()]);
    },
  };
}
