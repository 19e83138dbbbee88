import { exampleOrder } from '../examples/order';
import type { Problem } from './problem';
import type {
  ListSagasResponse,
  OrderTimelineView,
  SagaSummary,
  SagaView,
  StartSagaResponse,
  StockLevelView,
} from './schemas';

/**
 * Examples for the OpenAPI document: one completed order saga as the API shows it. Spectral checks each
 * against its schema (oas3-valid-schema-example), so they cannot drift from the responses.
 */
const sagaId = 'order-5b1f0c8e-8a43-4d8e-9a57-0c2f2b0c9d11';
const orderId = 'ord_5b1f0c8e-8a43-4d8e-9a57-0c2f2b0c9d11';
const links = {
  self: `/sagas/${sagaId}`,
  webUi: `http://127.0.0.1:8233/namespaces/default/workflows/${sagaId}`,
};
const at = (seconds: number) => new Date(Date.UTC(2026, 11, 3, 12, 0, seconds)).toISOString();
const step = (name: string, kind: 'compensatable' | 'pivot' | 'retriable', from: number) => ({
  name,
  kind,
  status: 'SUCCEEDED' as const,
  attempts: 1,
  startedAt: at(from),
  endedAt: at(from + 1),
});

export const orderRequestExample = exampleOrder();

/** The saga as a list shows it; the full view adds its steps and result. */
const summaryExample = {
  sagaId,
  sagaName: 'order',
  orderId,
  customerId: orderRequestExample.customerId,
  startedBy: 'key_3f9a1c2b7d4e',
  status: 'COMPLETED' as const,
  temporalStatus: 'COMPLETED',
  startedAt: at(0),
  endedAt: at(6),
  links,
} satisfies SagaSummary;

export const sagaExample: SagaView = {
  ...summaryExample,
  compensationMode: 'sequential',
  sagaVersion: 2,
  steps: [
    step('createOrder', 'compensatable', 0),
    step('reserveStock', 'compensatable', 1),
    step('authorizePayment', 'compensatable', 2),
    step('scheduleShipment', 'pivot', 3),
    step('capturePayment', 'retriable', 4),
    step('approveOrder', 'retriable', 5),
  ],
  compensations: [],
  result: { orderId, trackingNumber: `TRK-${orderId}` },
};

export const startSagaResponseExample: StartSagaResponse = {
  sagaId,
  orderId,
  status: 'RUNNING',
  links,
};

export const listSagasResponseExample: ListSagasResponse = {
  sagas: [summaryExample],
  nextCursor: 'CgZvcmRlci0xEAE',
};

export const stockLevelExample: StockLevelView = { sku: 'book-1', available: 9_998, onHand: 10_000 };

const reservedItems = orderRequestExample.items.map(({ sku, quantity }) => ({ sku, quantity }));

/** A compensated order (its payment was declined) as the order-history read model shows it. */
export const orderTimelineExample: OrderTimelineView = {
  orderId,
  consistency: 'eventual',
  lastAppliedSequence: 4211,
  events: [
    {
      eventId: '0b6c1c52-63f7-4d7e-9d43-7f4f3f0b2a11',
      type: 'order.created',
      aggregateType: 'order',
      aggregateId: orderId,
      sequence: 1,
      occurredAt: at(0),
      sagaId,
      payload: {
        orderId,
        customerId: orderRequestExample.customerId,
        currency: orderRequestExample.currency,
        totalAmount: 2800,
        items: orderRequestExample.items,
      },
    },
    {
      eventId: '3d8e2f10-7a4b-4c6d-9e1f-2a3b4c5d6e44',
      type: 'reservation.reserved',
      aggregateType: 'reservation',
      aggregateId: `res_${orderId}`,
      sequence: 1,
      occurredAt: at(1),
      sagaId,
      payload: { reservationId: `res_${orderId}`, orderId, items: reservedItems },
    },
    {
      eventId: '5a3e7a9d-2b8c-4f0e-8f51-3c9d2e7b1f22',
      type: 'payment.declined',
      aggregateType: 'payment',
      aggregateId: `pay_${orderId}`,
      sequence: 1,
      occurredAt: at(2),
      sagaId,
      payload: {
        paymentId: `pay_${orderId}`,
        orderId,
        amount: 2800,
        currency: orderRequestExample.currency,
        reason: 'card declined',
      },
    },
    {
      eventId: '7c6b5a49-3f2e-4d1c-8b0a-9f8e7d6c5b55',
      type: 'reservation.released',
      aggregateType: 'reservation',
      aggregateId: `res_${orderId}`,
      sequence: 2,
      occurredAt: at(3),
      sagaId,
      payload: { reservationId: `res_${orderId}`, orderId, items: reservedItems },
    },
    {
      eventId: '9f2d4b6a-1c3e-4a5b-8d7f-6e0a9c8b7d33',
      type: 'order.cancelled',
      aggregateType: 'order',
      aggregateId: orderId,
      sequence: 2,
      occurredAt: at(4),
      sagaId,
      payload: { orderId },
    },
  ],
};

export const problemExample: Problem = {
  type: 'https://saga.dev/problems/validation-error',
  title: 'Bad Request',
  status: 400,
  detail: 'query.waitSeconds: Too big: expected number to be <=30',
  instance: '/sagas?waitSeconds=60',
  errors: [{ field: 'query.waitSeconds', rule: 'too_big', message: 'Too big: expected number to be <=30' }],
};
