import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { OrdersActivities } from '../activities/orders/activities';
import type { PaymentsActivities } from '../activities/payments/activities';
import type { ShipmentsActivities } from '../activities/shipments/activities';
import { orderTotal } from '../shared/order-total';
import { taskQueueOfService } from '../shared/task-queue-name';
import type { OrderSagaInput } from './order-saga';

/**
 * The benchmark's baseline (`npm run bench`): the same five activities in sequence, with no saga engine
 * (no compensation registry, no state, no search attribute updates). Not started by the API.
 */
export async function bareOrderWorkflow(input: OrderSagaInput): Promise<void> {
  const { settings, order, orderId } = input;
  // Temporal's default retry policy: what a plain workflow would use.
  const options = { startToCloseTimeout: settings.stepPolicy.startToCloseTimeout };
  const queue = (service: string) => ({
    taskQueue: taskQueueOfService(settings.taskQueuePrefix ?? '', service),
  });
  const orders = proxyActivities<OrdersActivities>({ ...options, ...queue('orders') });
  const payments = proxyActivities<PaymentsActivities>({ ...options, ...queue('payments') });
  const shipments = proxyActivities<ShipmentsActivities>({ ...options, ...queue('shipments') });
  const sagaId = workflowInfo().workflowId;
  const meta = (step: string) => ({ sagaId, idempotencyKey: `${sagaId}/${step}`, attempt: 1 });
  const amount = orderTotal(order.items);
  await orders.createOrder(
    {
      orderId,
      customerId: order.customerId,
      currency: order.currency,
      items: order.items,
      shippingAddress: order.shippingAddress,
      totalAmount: amount,
    },
    meta('createOrder'),
  );
  await payments.authorizePayment(
    { orderId, amount, currency: order.currency, paymentToken: order.paymentToken },
    meta('authorizePayment'),
  );
  await shipments.scheduleShipment({ orderId, address: order.shippingAddress }, meta('scheduleShipment'));
  await payments.capturePayment({ orderId }, meta('capturePayment'));
  await orders.approveOrder({ orderId, customerId: order.customerId }, meta('approveOrder'));
}
