import { orderTotal } from '../../shared/order-total';
import { inventory } from '../../activities/inventory/service';
import { orders } from '../../activities/orders/service';
import { payments } from '../../activities/payments/service';
import { shipments } from '../../activities/shipments/service';
import { defineSaga, stepsOf } from '../saga/definition';
import type { OrderSagaData, OrderSagaInput } from './types';

const orderStep = stepsOf<OrderSagaInput, OrderSagaData>();

/**
 * Version 2 of the order saga: stock is reserved before payment, and every compensation addresses what its
 * step returned (the reservation, payment or shipment id) when the step succeeded, the order's otherwise.
 * Capture and approve need no compensation of their own: releasePayment refunds a captured payment and
 * cancelOrder cancels an approved order. Version 1 (v1.ts) stays for the sagas that started on it.
 */
export const orderSagaV2 = defineSaga<
  OrderSagaInput,
  OrderSagaData,
  'orders' | 'inventory' | 'payments' | 'shipments'
>({
  name: 'order',
  version: 2,
  services: [orders, inventory, payments, shipments],
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
      name: 'reserveStock',
      action: ({ input }) =>
        inventory.call('reserveStock', { orderId: input.orderId, items: input.order.items }),
      onResult: ({ data }, result) => {
        data.reservationId = result.reservationId;
      },
      compensation: ({ input }, reserved) =>
        inventory.call('releaseStock', { orderId: input.orderId, reservationId: reserved?.reservationId }),
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
      compensation: ({ input }, authorized) =>
        payments.call('releasePayment', {
          orderId: input.orderId,
          currency: input.order.currency,
          paymentId: authorized?.paymentId,
        }),
    }),
    orderStep({
      name: 'scheduleShipment',
      action: ({ input }) =>
        shipments.call('scheduleShipment', { orderId: input.orderId, address: input.order.shippingAddress }),
      onResult: ({ data }, result) => {
        data.shipmentId = result.shipmentId;
        data.trackingNumber = result.trackingNumber;
      },
      compensation: ({ input }, scheduled) =>
        shipments.call('cancelShipment', { orderId: input.orderId, shipmentId: scheduled?.shipmentId }),
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
