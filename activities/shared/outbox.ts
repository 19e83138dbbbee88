import { randomUUID } from 'node:crypto';
import {
  aggregateTypeOf,
  parsePayload,
  type DomainEvent,
  type EventPayload,
  type EventType,
} from '../../shared/events';

/**
 * The transactional outbox: an effect's domain event is written in the effect's own transaction, next to
 * its ledger row (applyOnce), so an effect that commits has exactly one event and a retried or duplicated
 * activity, which finds its ledger row and applies nothing, writes none. Every service's database has
 * the same two tables (prisma/<service>/migrations/*_outbox): OutboxEvent, and OutboxSequence, the last
 * sequence of each aggregate. Raw SQL, so one helper serves every service's generated client.
 */

/** What every service's Prisma transaction client offers (each generates its own types). */
export interface RawSqlTx {
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
}

export interface NewEvent<T extends EventType> {
  type: T;
  aggregateId: string;
  sagaId: string;
  payload: EventPayload<T>;
}

/**
 * Appends an event to the aggregate's stream: its sequence is the aggregate's last plus one. The
 * counter's row lock serialises transactions on one aggregate and rolls back with them, so sequences
 * have no gaps. occurredAt is the database's clock, read after that lock: one clock for every worker, and
 * it follows the sequence.
 */
export async function appendEvent<T extends EventType>(
  tx: RawSqlTx,
  event: NewEvent<T>,
): Promise<{ id: string; sequence: number }> {
  const id = randomUUID();
  const payload = JSON.stringify(parsePayload(event.type, event.payload));
  const aggregateType = aggregateTypeOf(event.type);
  const rows = await tx.$queryRaw<{ sequence: number }[]>`
    WITH next AS (
      INSERT INTO "OutboxSequence" ("aggregateType", "aggregateId", "last")
      VALUES (${aggregateType}, ${event.aggregateId}, 1)
      ON CONFLICT ("aggregateType", "aggregateId")
      DO UPDATE SET "last" = "OutboxSequence"."last" + 1
      RETURNING "last"
    )
    INSERT INTO "OutboxEvent" ("id", "aggregateType", "aggregateId", "sequence", "type", "payload", "occurredAt", "sagaId")
    SELECT ${id}::uuid, ${aggregateType}, ${event.aggregateId}, next."last", ${event.type}, ${payload}::jsonb,
           clock_timestamp(), ${event.sagaId}
    FROM next
    RETURNING "sequence"`;
  const sequence = rows[0]?.sequence;
  if (sequence === undefined) throw new Error(`outbox: no sequence returned for ${event.type}`);
  return { id, sequence: Number(sequence) };
}

/** An OutboxEvent row as every service's client reads it. */
export interface OutboxRow {
  id: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  sequence: number;
  occurredAt: Date;
  sagaId: string;
  payload: unknown;
}

/** The event a row holds, in its published shape; not validated here (encodeEvent and the schemas do). */
export function outboxRowToEvent(row: OutboxRow): DomainEvent {
  return {
    id: row.id,
    type: row.type,
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    sequence: Number(row.sequence),
    occurredAt: row.occurredAt.toISOString(),
    sagaId: row.sagaId,
    payload: row.payload,
  } as DomainEvent;
}
