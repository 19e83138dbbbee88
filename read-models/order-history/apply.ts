import type { DomainEvent } from '../../shared/events';
import type { OrderHistoryDb } from './db';

/** The durable consumer's name, and the key of its row in ConsumerPosition. */
export const ORDER_HISTORY_CONSUMER = 'order-history';

/**
 * The order an event belongs to: an order's events are about their aggregate, the others (payment,
 * shipment, reservation) name their order in the payload.
 */
export function orderIdOf(event: DomainEvent): string {
  return event.aggregateType === 'order' ? event.aggregateId : event.payload.orderId;
}

/**
 * applied: a new timeline entry; duplicate: this event was applied before (a redelivery);
 * conflict: another event already holds this aggregate's sequence (kept; the newcomer is not applied).
 */
export type ApplyOutcome = 'applied' | 'duplicate' | 'conflict';

/**
 * Applies one event at its stream sequence in one transaction: the timeline entry (nothing when the event
 * id or the aggregate's sequence is there already) and the consumer's position, which never moves back.
 * Applying an event any number of times leaves the rows as applying it once.
 */
export async function applyEvent(
  db: OrderHistoryDb,
  event: DomainEvent,
  streamSequence: number,
): Promise<ApplyOutcome> {
  return db.$transaction(async (tx) => {
    const inserted = await tx.$executeRaw`
      INSERT INTO "TimelineEntry" ("eventId", "orderId", "aggregateType", "aggregateId", "sequence", "type",
                                   "occurredAt", "sagaId", "payload", "streamSequence")
      VALUES (${event.id}::uuid, ${orderIdOf(event)}, ${event.aggregateType}, ${event.aggregateId},
              ${event.sequence}, ${event.type}, ${event.occurredAt}::timestamptz, ${event.sagaId},
              ${JSON.stringify(event.payload)}::jsonb, ${streamSequence})
      ON CONFLICT DO NOTHING`;
    await tx.$executeRaw`
      INSERT INTO "ConsumerPosition" ("consumer", "lastStreamSequence", "updatedAt")
      VALUES (${ORDER_HISTORY_CONSUMER}, ${streamSequence}, now())
      ON CONFLICT ("consumer") DO UPDATE
      SET "lastStreamSequence" = EXCLUDED."lastStreamSequence", "updatedAt" = now()
      WHERE "ConsumerPosition"."lastStreamSequence" < EXCLUDED."lastStreamSequence"`;
    if (inserted === 1) return 'applied';
    const same = await tx.timelineEntry.findUnique({
      where: { eventId: event.id },
      select: { eventId: true },
    });
    return same ? 'duplicate' : 'conflict';
  });
}
