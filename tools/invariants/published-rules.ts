import type { OutboxFact } from './outbox-rules';
import type { Violation } from './rules';

/**
 * The relay's invariants, pure like rules.ts: what reached the broker is what the outboxes hold, one to
 * one. Every outbox event is in the stream exactly once, as written and under its own id as the message
 * id; the stream holds no event of these aggregates that no outbox wrote; and each aggregate's events
 * arrive in their sequence order.
 */

/** A message of the events stream, as the checker reads it. */
export interface PublishedFact {
  /** Its position in the stream: the order consumers receive it in. */
  streamSequence: number;
  /** The Nats-Msg-Id header the relay set (JetStream's de-duplication key). */
  messageId: string | undefined;
  event: Omit<OutboxFact, 'id'> & { id: string };
}

const aggregateKey = (e: { aggregateType: string; aggregateId: string }) =>
  `${e.aggregateType} ${e.aggregateId}`;

export function publishedViolations(outbox: OutboxFact[], published: PublishedFact[]): Violation[] {
  const violations: Violation[] = [];
  const fail = (sagaId: string, rule: string, detail: string) => violations.push({ sagaId, rule, detail });
  const inScope = new Set(outbox.map(aggregateKey));
  const messages = published
    .filter((m) => inScope.has(aggregateKey(m.event)))
    .sort((a, b) => a.streamSequence - b.streamSequence);
  const byId = new Map<string, PublishedFact[]>();
  for (const m of messages) byId.set(m.event.id, [...(byId.get(m.event.id) ?? []), m]);
  const written = new Set<string>();
  for (const row of outbox) {
    written.add(row.id);
    const copies = byId.get(row.id) ?? [];
    const what = `${row.type} #${row.sequence} of ${aggregateKey(row)} (event ${row.id})`;
    if (copies.length === 0) fail(row.sagaId, 'event-not-published', what);
    if (copies.length > 1) {
      const at = copies.map((c) => c.streamSequence).join(', ');
      fail(row.sagaId, 'event-published-twice', `${what} at stream sequences ${at}`);
    }
    for (const copy of copies) {
      const fields = ['type', 'aggregateType', 'aggregateId', 'sequence', 'sagaId'] as const;
      const differs = fields.filter((f) => copy.event[f] !== row[f]);
      if (differs.length)
        fail(row.sagaId, 'event-differs', `${what}: ${differs.join(', ')} differ in the stream`);
      if (copy.messageId !== row.id)
        fail(row.sagaId, 'event-message-id', `${what} has message id ${copy.messageId ?? '(none)'}`);
    }
  }
  for (const m of messages) {
    if (!written.has(m.event.id)) {
      fail(
        m.event.sagaId,
        'event-without-outbox-row',
        `${m.event.type} #${m.event.sequence} of ${aggregateKey(m.event)} at stream sequence ${m.streamSequence}`,
      );
    }
  }
  // First deliveries only: a copy is reported above, and need not repeat here as disorder.
  const last = new Map<string, number>();
  const seen = new Set<string>();
  for (const m of messages) {
    if (seen.has(m.event.id)) continue;
    seen.add(m.event.id);
    const key = aggregateKey(m.event);
    const previous = last.get(key) ?? 0;
    if (m.event.sequence < previous) {
      fail(
        m.event.sagaId,
        'event-out-of-order',
        `${key}: #${m.event.sequence} arrived after #${previous} (stream sequence ${m.streamSequence})`,
      );
    }
    last.set(key, Math.max(previous, m.event.sequence));
  }
  return violations;
}
