import type { OutboxFact } from '../invariants/outbox-rules';
import { publishedViolations, type PublishedFact } from '../invariants/published-rules';

/**
 * After a chaos run: what the outbox relays put on the stream against what the outboxes hold, with the
 * invariant checker's rule (tools/invariants/published-rules.ts). With its outbox rule (the outbox rows
 * and the ledgers' effects are one to one), this makes the events on the broker and the effects one to one.
 */

export type OutboxRowRef = OutboxFact & { publishedAt: Date | null };

export interface PublishedEventsReport {
  /** Outbox rows of the run's services. */
  rows: number;
  /** Of them, marked published by a relay. */
  published: number;
  /** Messages on the run's stream. */
  onStream: number;
  /** Each departure: a row never marked published, and every violation of the published-event rules. */
  problems: string[];
}

export function comparePublished(rows: OutboxRowRef[], stream: PublishedFact[]): PublishedEventsReport {
  const unmarked = rows
    .filter((row) => !row.publishedAt)
    .map(
      (row) => `${row.aggregateType} ${row.aggregateId} #${row.sequence} (${row.id}): never marked published`,
    );
  const violations = publishedViolations(rows, stream).map(
    (v) => `${v.rule} (saga ${v.sagaId}): ${v.detail}`,
  );
  return {
    rows: rows.length,
    published: rows.filter((row) => row.publishedAt).length,
    onStream: stream.length,
    problems: [...unmarked, ...violations],
  };
}
