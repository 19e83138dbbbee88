import type { OutboxFact } from '../../tools/invariants/outbox-rules';
import { publishedViolations, type PublishedFact } from '../../tools/invariants/published-rules';

const row = (type: string, aggregateId: string, sequence: number, sagaId = 's1'): OutboxFact => ({
  id: `${type}/${aggregateId}/${sequence}`,
  type,
  aggregateType: type.split('.')[0] as string,
  aggregateId,
  sequence,
  sagaId,
});
let position = 0;
const sent = (fact: OutboxFact, overrides: Partial<PublishedFact> = {}): PublishedFact => ({
  streamSequence: ++position,
  messageId: fact.id,
  event: { ...fact },
  ...overrides,
});

const outbox = [
  row('order.created', 'o1', 1),
  row('payment.authorized', 'pay_o1', 1),
  row('payment.voided', 'pay_o1', 2),
  row('order.cancelled', 'o1', 2),
];
const rules = (published: PublishedFact[], rows = outbox) =>
  publishedViolations(rows, published).map((v) => v.rule);

describe('published-event rules', () => {
  test('every outbox event once, in order, under its own message id: no violation', () => {
    expect(rules(outbox.map((r) => sent(r)))).toEqual([]);
  });

  test("aggregates interleave freely; only each aggregate's own order counts", () => {
    const [created, authorized, voided, cancelled] = outbox as [
      OutboxFact,
      OutboxFact,
      OutboxFact,
      OutboxFact,
    ];
    expect(rules([sent(authorized), sent(created), sent(cancelled), sent(voided)])).toEqual([]);
  });

  test('an event left in the outbox is reported, with its saga', () => {
    const violations = publishedViolations(
      outbox,
      outbox.slice(0, 3).map((r) => sent(r)),
    );
    expect(violations).toEqual([expect.objectContaining({ sagaId: 's1', rule: 'event-not-published' })]);
    expect(violations[0]?.detail).toContain('order.cancelled #2 of order o1');
  });

  test('a second copy in the stream (a republish past the duplicate window) is reported', () => {
    const published = [...outbox.map((r) => sent(r)), sent(outbox[1] as OutboxFact)];
    expect(rules(published)).toEqual(['event-published-twice']);
  });

  test('a message no outbox wrote, a wrong message id and a changed event are each reported', () => {
    const [created, authorized, voided, cancelled] = outbox as [
      OutboxFact,
      OutboxFact,
      OutboxFact,
      OutboxFact,
    ];
    const stranger = row('payment.captured', 'pay_o1', 3);
    expect(rules([sent(created), sent(authorized), sent(voided), sent(cancelled), sent(stranger)])).toEqual([
      'event-without-outbox-row',
    ]);
    expect(
      rules([sent(created, { messageId: undefined }), sent(authorized), sent(voided), sent(cancelled)]),
    ).toEqual(['event-message-id']);
    const first = [sent(created), sent(authorized)];
    const changed = sent(voided, { event: { ...voided, sagaId: 'other' } });
    expect(rules([...first, changed, sent(cancelled)])).toEqual(['event-differs']);
  });

  test("an aggregate's events out of their sequence order are reported", () => {
    const [created, authorized, voided, cancelled] = outbox as [
      OutboxFact,
      OutboxFact,
      OutboxFact,
      OutboxFact,
    ];
    expect(rules([sent(created), sent(voided), sent(authorized), sent(cancelled)])).toEqual([
      'event-out-of-order',
    ]);
  });

  test('messages of aggregates outside the checked ones are not judged', () => {
    const other = row('order.created', 'o2', 1, 's2');
    expect(rules([...outbox.map((r) => sent(r)), sent(other)])).toEqual([]);
  });
});
