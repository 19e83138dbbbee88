import { orderTotal } from '../../shared/order-total';
import { orders } from '../../activities/orders/service';
import { payments } from '../../activities/payments/service';
import { shipments } from '../../activities/shipments/service';
import { defineSaga, stepsOf } from '../saga/definition';
import type { OrderSagaData, OrderSagaInput } from './types';

const orderStep = stepsOf<OrderSagaInput, OrderSagaData>();

/**
 * Version 1 of the order saga, as released before inventory: kept, unchanged, for the sagas that started
 * on it (they replay it). Capture and approve need no compensation of their own: releasePayment refunds a
 * captured payment and cancelOrder cancels an approved order.
 */
export const orderSagaV1 = defineSaga<OrderSagaInput, OrderSagaData, 'orders' | 'payments' | 'shipments'>({
  name: 'order',
  version: 1,
  services: [orders, payments, shipments],
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
