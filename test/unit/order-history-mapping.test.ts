import { randomUUID } from 'node:crypto';
import { orderIdOf } from '../../read-models/order-history/apply';
import { orderHistoryConsumerConfig } from '../../read-models/order-history/consumer';
import { eventBusConfigSchema } from '../../shared/event-bus';
import { EVENT_DEFINITIONS, EVENT_TYPES, domainEventSchema, type DomainEvent } from '../../shared/events';

/** Every event type belongs to one order's timeline; the consumer's settings are the ones its guarantees need. */
describe('order-history read model', () => {
  const orderId = `ord_${randomUUID()}`;
  const payloadOf = (type: (typeof EVENT_TYPES)[number]): Record<string, unknown> => {
    const aggregate = EVENT_DEFINITIONS[type].aggregateType;
    const money = { amount: 100, currency: 'EUR' };
    const items = [{ sku: 'book-1', quantity: 1 }];
    if (type === 'order.created')
      return {
        orderId,
        customerId: 'c',
        currency: 'EUR',
        totalAmount: 100,
        items: [{ ...items[0], unitPrice: 100 }],
      };
    if (aggregate === 'order') return { orderId };
    if (type === 'payment.declined')
      return { paymentId: `pay_${orderId}`, orderId, ...money, reason: 'declined' };
    if (aggregate === 'payment') return { paymentId: `pay_${orderId}`, orderId, ...money };
    if (type === 'shipment.scheduled')
      return { shipmentId: `shp_${orderId}`, orderId, trackingNumber: 'TRK-1' };
    if (aggregate === 'shipment') return { shipmentId: `shp_${orderId}`, orderId };
    return { reservationId: `res_${orderId}`, orderId, items };
  };

  test.each(EVENT_TYPES)('%s maps to its order', (type) => {
    const aggregate = EVENT_DEFINITIONS[type].aggregateType;
    const event = domainEventSchema.parse({
      id: randomUUID(),
      type,
      aggregateType: aggregate,
      aggregateId: aggregate === 'order' ? orderId : `${aggregate.slice(0, 3)}_${orderId}`,
      sequence: 1,
      occurredAt: new Date().toISOString(),
      sagaId: 'order-1',
      payload: payloadOf(type),
    }) as DomainEvent;
    expect(orderIdOf(event)).toBe(orderId);
  });

  test('the durable consumer takes every event subject from the first, acked one at a time', () => {
    const config = orderHistoryConsumerConfig(
      eventBusConfigSchema.parse({ EVENTS_SUBJECT_PREFIX: 'x.events' }),
    );
    expect(config).toMatchObject({
      durable_name: 'order-history',
      ack_policy: 'explicit',
      deliver_policy: 'all',
      filter_subject: 'x.events.>',
      max_ack_pending: 1,
    });
  });
});
