import { randomUUID } from 'node:crypto';
import type { DomainEvent } from '../../shared/events';
import { comparePublished, type OutboxRowRef } from '../../tools/chaos/published-events';

/** The chaos run's check of the stream against the outboxes finds each kind of departure. */
describe('comparePublished', () => {
  const row = (aggregateId: string, sequence: number, published = true): OutboxRowRef => ({
    id: randomUUID(),
    aggregateType: 'order',
    aggregateId,
    sequence,
    publishedAt: published ? new Date() : null,
  });
  const eventOf = (r: OutboxRowRef) =>
    ({
      id: r.id,
      aggregateType: r.aggregateType,
      aggregateId: r.aggregateId,
      sequence: r.sequence,
    }) as DomainEvent;

  test('every row once, each aggregate in order (aggregates interleaved): no problem', () => {
    const rows = [row('o1', 1), row('o2', 1), row('o1', 2), row('o2', 2)];
    expect(comparePublished(rows, rows.map(eventOf))).toEqual({
      rows: 4,
      published: 4,
      onStream: 4,
      problems: [],
    });
  });

  test('unpublished, missing, duplicated, unknown and out-of-order events are each reported', () => {
    const [a1, a2, a3, b1] = [row('a', 1), row('a', 2), row('a', 3), row('b', 1, false)];
    const stranger = eventOf(row('c', 1));
    const report = comparePublished(
      [a1!, a2!, a3!, b1!],
      [eventOf(a2!), eventOf(a1!), eventOf(a1!), stranger],
    );
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^order a #1 .*: 2 times on the stream$/),
        expect.stringMatching(/^order a #3 .*: 0 times on the stream$/),
        expect.stringMatching(/^order b #1 .*: never published$/),
        expect.stringMatching(/: on the stream, in no outbox$/),
        'order a: #2 on the stream after #0',
      ]),
    );
  });
});
