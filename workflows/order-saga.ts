import type { OrderRequest } from '../shared/order';
import { orderTotal } from '../shared/order-total';
import type { SagaSettings } from '../shared/saga-settings';
import type { SagaOutcome } from '../shared/saga-state';
import type { OrdersActivities } from '../activities/orders/activities';
import type { PaymentsActivities } from '../activities/payments/activities';
import type { ShipmentsActivities } from '../activities/shipments/activities';
import { defineSaga, service, stepsOf } from './saga/definition';
import { runSaga } from './saga/engine';

export interface OrderSagaInput {
  orderId: string;
  order: OrderRequest;
  settings: SagaSettings;
}

export interface OrderSagaData {
  paymentId?: string;
  shipmentId?: string;
  trackingNumber?: string | null;
}

const orders = service<OrdersActivities>('orders');
const payments = service<PaymentsActivities>('payments');
const shipments = service<ShipmentsActivities>('shipments');

const orderStep = stepsOf<OrderSagaInput, OrderSagaData>();

/**
 * The order saga: the whole business flow on one screen. Capture and approve need no compensation of
 * their own: releasePayment refunds a captured payment and cancelOrder cancels an approved order.
 */
export const orderSagaDefinition = defineSaga<OrderSagaInput, OrderSagaData>({
  name: 'order',
  initialData: () => ({}),
  steps: [
    orderStep({
      name: 'createOrder',
      action: ({ input }) =>
        orders.call('createOrder', {
          orderId: input.orderId,
          customerId: input.order.customerId,
          currency: input.order.currency,
          items: input.order.items,
          shippingAddress: input.order.shippingAddress,
          totalAmount: orderTotal(input.order.items),
        }),
      compensation: ({ input }) =>
        orders.call('cancelOrder', {
          orderId: input.orderId,
          customerId: input.order.customerId,
          currency: input.order.currency,
        }),
    }),
    orderStep({
      name: 'authorizePayment',
      action: ({ input }) =>
        payments.call('authorizePayment', {
          orderId: input.orderId,
          amount: orderTotal(input.order.items),
          currency: input.order.currency,
          paymentToken: input.order.paymentToken,
        }),
      onResult: ({ data }, result) => {
        data.paymentId = result.paymentId;
      },
      compensation: ({ input }) =>
        payments.call('releasePayment', { orderId: input.orderId, currency: input.order.currency }),
    }),
    orderStep({
      name: 'scheduleShipment',
      action: ({ input }) =>
        shipments.call('scheduleShipment', { orderId: input.orderId, address: input.order.shippingAddress }),
      onResult: ({ data }, result) => {
        data.shipmentId = result.shipmentId;
        data.trackingNumber = result.trackingNumber;
      },
      compensation: ({ input }) => shipments.call('cancelShipment', { orderId: input.orderId }),
    }),
    orderStep({
      name: 'capturePayment',
      action: ({ input }) => payments.call('capturePayment', { orderId: input.orderId }),
    }),
    orderStep({
      name: 'approveOrder',
      action: ({ input }) =>
        orders.call('approveOrder', { orderId: input.orderId, customerId: input.order.customerId }),
    }),
  ],
});

/** The workflow type started by the API: `orderSaga`. */
export async function orderSaga(input: OrderSagaInput): Promise<SagaOutcome<OrderSagaData>> {
  return runSaga(orderSagaDefinition, input, input.settings);
}
