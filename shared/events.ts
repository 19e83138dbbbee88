import { z } from './zod';
import { currencySchema, orderItemSchema } from './order';

/**
 * The domain events the services write to their outboxes, one per effect, in the same transaction as the
 * effect (activities/shared/outbox.ts). Each has the same envelope and a payload schema of its own. The
 * payloads are strict: nothing else (no card token, no address) can slip into an event. Their JSON Schema
 * files (docs/events) are generated from these: `npm run events:schemas`.
 */

const id = z.string().min(1);
const amount = z.number().int().min(0);
const stockLines = z.array(z.strictObject({ sku: z.string().min(1), quantity: z.number().int().min(1) }));

const orderRef = { orderId: id };
const paymentRef = { paymentId: id, orderId: id, amount, currency: currencySchema };
const shipmentRef = { shipmentId: id, orderId: id };
const reservationRef = { reservationId: id, orderId: id, items: stockLines };

/** Each event type: the aggregate it belongs to, and its payload. */
export const EVENT_DEFINITIONS = {
  'order.created': {
    aggregateType: 'order',
    description: 'An order was placed (PENDING).',
    payload: z.strictObject({
      ...orderRef,
      customerId: id,
      currency: currencySchema,
      totalAmount: amount,
      items: z.array(orderItemSchema),
    }),
  },
  'order.approved': {
    aggregateType: 'order',
    description: 'The order saga completed: the order is APPROVED.',
    payload: z.strictObject(orderRef),
  },
  'order.cancelled': {
    aggregateType: 'order',
    description: 'The order was cancelled (the order saga compensated).',
    payload: z.strictObject(orderRef),
  },
  'order.refund_requested': {
    aggregateType: 'order',
    description: 'A refund of the approved order began (REFUND_REQUESTED).',
    payload: z.strictObject(orderRef),
  },
  'order.refund_aborted': {
    aggregateType: 'order',
    description: 'The refund was given up before the money moved: the order is APPROVED again.',
    payload: z.strictObject(orderRef),
  },
  'order.refunded': {
    aggregateType: 'order',
    description: 'The refund completed: the order is REFUNDED.',
    payload: z.strictObject(orderRef),
  },
  'payment.authorized': {
    aggregateType: 'payment',
    description: 'The provider holds the amount for the order.',
    payload: z.strictObject(paymentRef),
  },
  'payment.declined': {
    aggregateType: 'payment',
    description: 'The provider declined the payment.',
    payload: z.strictObject({ ...paymentRef, reason: z.string() }),
  },
  'payment.captured': {
    aggregateType: 'payment',
    description: 'The authorized amount was taken.',
    payload: z.strictObject(paymentRef),
  },
  'payment.voided': {
    aggregateType: 'payment',
    description: 'The authorization was released (compensation): nothing was taken.',
    payload: z.strictObject(paymentRef),
  },
  'payment.refunded': {
    aggregateType: 'payment',
    description: 'The captured amount was given back (compensation of a capture, or a refund saga).',
    payload: z.strictObject(paymentRef),
  },
  'shipment.scheduled': {
    aggregateType: 'shipment',
    description: 'A shipment of the order was scheduled.',
    payload: z.strictObject({ ...shipmentRef, trackingNumber: z.string().min(1) }),
  },
  'shipment.cancelled': {
    aggregateType: 'shipment',
    description: 'The scheduled shipment was cancelled.',
    payload: z.strictObject(shipmentRef),
  },
  'reservation.reserved': {
    aggregateType: 'reservation',
    description: "The order's units are held in stock.",
    payload: z.strictObject(reservationRef),
  },
  'reservation.released': {
    aggregateType: 'reservation',
    description: "The reservation's units went back to available stock.",
    payload: z.strictObject(reservationRef),
  },
} as const;

type Definitions = typeof EVENT_DEFINITIONS;
export type EventType = keyof Definitions;
export const EVENT_TYPES = Object.keys(EVENT_DEFINITIONS) as EventType[];
export type AggregateType = Definitions[EventType]['aggregateType'];
export type EventPayload<T extends EventType> = z.infer<Definitions[T]['payload']>;

const envelope = {
  id: z.uuid().describe('Unique per event: consumers and the broker drop a second delivery by it.'),
  aggregateId: id.describe('The order, payment, shipment or reservation the event is about.'),
  sequence: z
    .number()
    .int()
    .min(1)
    .describe("1, 2, 3, ... per aggregate without gaps: the order to apply an aggregate's events in."),
  occurredAt: z.iso.datetime({ offset: true }).describe("When the effect committed (the database's clock)."),
  sagaId: id.describe('The saga whose step or compensation had the effect.'),
};

function eventSchemaOf<T extends EventType>(type: T) {
  const { aggregateType, description, payload } = EVENT_DEFINITIONS[type];
  return z
    .strictObject({
      type: z.literal(type),
      aggregateType: z.literal(aggregateType as Definitions[T]['aggregateType']),
      ...envelope,
      payload: payload as Definitions[T]['payload'],
    })
    .meta({ title: type, description });
}

/** One schema per event type: the envelope with that type's payload. */
export const EVENT_SCHEMAS = Object.fromEntries(EVENT_TYPES.map((t) => [t, eventSchemaOf(t)])) as {
  [T in EventType]: ReturnType<typeof eventSchemaOf<T>>;
};

/** Any domain event, told apart by its type. */
export const domainEventSchema = z
  .discriminatedUnion(
    'type',
    EVENT_TYPES.map((t) => EVENT_SCHEMAS[t]) as unknown as [
      (typeof EVENT_SCHEMAS)[EventType],
      ...(typeof EVENT_SCHEMAS)[EventType][],
    ],
  )
  .meta({ title: 'DomainEvent', description: 'Any domain event of the saga services.' });

export type DomainEvent = { [T in EventType]: z.infer<(typeof EVENT_SCHEMAS)[T]> }[EventType];

/** The aggregate an event type belongs to. */
export function aggregateTypeOf(type: EventType): AggregateType {
  return EVENT_DEFINITIONS[type].aggregateType;
}

/** Validates a payload against its type's schema; throws (a bug, not a business failure) when it does not fit. */
export function parsePayload<T extends EventType>(type: T, payload: EventPayload<T>): EventPayload<T> {
  return EVENT_DEFINITIONS[type].payload.parse(payload) as EventPayload<T>;
}
