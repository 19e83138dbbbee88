import { randomUUID } from 'node:crypto';
import { comparePublished, type OutboxRowRef } from '../../tools/chaos/published-events';
import type { PublishedFact } from '../../tools/invariants/published-rules';

/** The chaos run's summary of the stream against the outboxes (the rules themselves: published-rules.test.ts). */
describe('comparePublished', () => {
  const row = (aggregateId: string, sequence: number, published = true): OutboxRowRef => ({
    id: randomUUID(),
    type: sequence === 1 ? 'order.created' : 'order.cancelled',
    aggregateType: 'order',
    aggregateId,
    sequence,
    sagaId: `saga-${aggregateId}`,
    publishedAt: published ? new Date() : null,
  });
  let position = 0;
  const sent = ({ publishedAt: _, ...event }: OutboxRowRef): PublishedFact => ({
    streamSequence: ++position,
    messageId: event.id,
    event,
  });

  test('every row once, each aggregate in order (aggregates interleaved): no problem', () => {
    const rows = [row('o1', 1), row('o2', 1), row('o1', 2), row('o2', 2)];
    expect(comparePublished(rows, rows.map(sent))).toEqual({
      rows: 4,
      published: 4,
      onStream: 4,
      problems: [],
    });
  });

  test('a row never marked published and a row missing from the stream are each reported', () => {
    const [a1, a2, b1] = [row('a', 1), row('a', 2), row('b', 1, false)] as [
      OutboxRowRef,
      OutboxRowRef,
      OutboxRowRef,
    ];
    const report = comparePublished([a1, a2, b1], [sent(a1), sent(a2)]);
    expect(report).toMatchObject({ rows: 3, published: 2, onStream: 2 });
    expect(report.problems).toEqual([
      expect.stringMatching(/^order b #1 .*: never marked published$/),
      expect.stringMatching(/^event-not-published \(saga saga-b\): order.created #1 of order b/),
    ]);
  });
});
