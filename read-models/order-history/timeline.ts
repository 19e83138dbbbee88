import type { AggregateType, EventType } from '../../shared/events';
import { ORDER_HISTORY_CONSUMER } from './apply';
import type { OrderHistoryDb } from './db';

export interface TimelineEvent {
  eventId: string;
  type: EventType;
  aggregateType: AggregateType;
  aggregateId: string;
  sequence: number;
  occurredAt: string;
  sagaId: string;
  payload: Record<string, unknown>;
}

export interface OrderTimeline {
  orderId: string;
  /** The last stream sequence the consumer applied: the timeline holds every event up to it. */
  lastAppliedSequence: number;
  events: TimelineEvent[];
}

/**
 * An order's timeline as the read model holds it now, in the order things happened (the database's clock
 * of each effect, then the aggregate's sequence); null while none of its events has been applied.
 */
export async function readTimeline(db: OrderHistoryDb, orderId: string): Promise<OrderTimeline | null> {
  const [entries, position] = await db.$transaction([
    db.timelineEntry.findMany({
      where: { orderId },
      orderBy: [{ occurredAt: 'asc' }, { sequence: 'asc' }, { streamSequence: 'asc' }],
    }),
    db.consumerPosition.findUnique({ where: { consumer: ORDER_HISTORY_CONSUMER } }),
  ]);
  if (entries.length === 0) return null;
  return {
    orderId,
    lastAppliedSequence: Number(position?.lastStreamSequence ?? 0),
    events: entries.map((entry) => ({
      eventId: entry.eventId,
      // Only validated domain events are ever written (apply.ts).
      type: entry.type as EventType,
      aggregateType: entry.aggregateType as AggregateType,
      aggregateId: entry.aggregateId,
      sequence: entry.sequence,
      occurredAt: entry.occurredAt.toISOString(),
      sagaId: entry.sagaId,
      payload: entry.payload as Record<string, unknown>,
    })),
  };
}
