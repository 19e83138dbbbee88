import { EVENT_TYPES } from '../../shared/events';
import {
  EVENT_OF_EFFECT,
  outboxViolations,
  sequenceGapViolations,
  type OutboxFact,
} from '../../tools/invariants/outbox-rules';
import type { Effect } from '../../tools/invariants/rules';

let clock = 0;
const fx = (...names: string[]): Effect[] =>
  names.map((n) => {
    const [operation, effect] = n.split(':') as [string, string];
    return { operation, effect, at: ++clock };
  });
const ev = (type: string, aggregateId: string, sequence: number, sagaId = 's'): OutboxFact => ({
  id: `${type}-${aggregateId}-${sequence}`,
  type,
  aggregateType: type.split('.')[0] as string,
  aggregateId,
  sequence,
  sagaId,
});

/** A saga compensated after its authorization: the shipment's cancel left a tombstone, which has no event. */
const compensated = () => ({
  sagaId: 's',
  effects: fx(
    'order.create:created',
    'inventory.reserve:reserved',
    'payment.authorize:authorized',
    'shipment.cancel:tombstone',
    'payment.release:voided',
    'inventory.release:released',
    'order.cancel:cancelled',
  ),
  events: [
    ev('order.created', 'o1', 1),
    ev('reservation.reserved', 'res_o1', 1),
    ev('payment.authorized', 'pay_o1', 1),
    ev('payment.voided', 'pay_o1', 2),
    ev('reservation.released', 'res_o1', 2),
    ev('order.cancelled', 'o1', 2),
  ],
});
const rules = (facts: ReturnType<typeof compensated>) => outboxViolations(facts).map((v) => v.rule);

describe('outbox rules', () => {
  test('a saga whose effects each have their event passes; no-ops and tombstones need none', () => {
    expect(rules(compensated())).toEqual([]);
    const facts = compensated();
    expect(rules({ ...facts, effects: [...facts.effects, ...fx('order.approve:none')] })).toEqual([]);
  });

  test('an effect without its event is caught', () => {
    const facts = compensated();
    const missing = { ...facts, events: facts.events.filter((e) => e.type !== 'payment.voided') };
    expect(outboxViolations(missing)).toEqual([
      { sagaId: 's', rule: 'outbox-missing-event', detail: '1 effect(s) of payment.voided, 0 event(s)' },
    ]);
  });

  test('an event without its effect, or a second event of one effect, is caught', () => {
    const facts = compensated();
    expect(rules({ ...facts, events: [...facts.events, ev('payment.voided', 'pay_o1', 3)] })).toEqual([
      'outbox-extra-event',
    ]);
    expect(rules({ ...facts, events: [...facts.events, ev('shipment.cancelled', 'shp_o1', 1)] })).toEqual([
      'outbox-extra-event',
    ]);
  });

  test('a refund of the captured payment and a compensating refund are both payment.refunded', () => {
    const refunds = {
      sagaId: 'r',
      effects: fx('payment.release:refunded', 'payment.refund:refunded'),
      events: [ev('payment.refunded', 'p', 3, 'r')],
    };
    expect(rules(refunds)).toEqual(['outbox-missing-event']);
    expect(rules({ ...refunds, events: [...refunds.events, ev('payment.refunded', 'p', 4, 'r')] })).toEqual(
      [],
    );
  });

  test('an effect the rules do not know of is reported, not ignored', () => {
    expect(rules({ sagaId: 's', effects: fx('payment.capture:teleported'), events: [] })).toEqual([
      'outbox-unknown-effect',
    ]);
  });

  test('every event type is the event of some effect', () => {
    expect(new Set(Object.values(EVENT_OF_EFFECT))).toEqual(new Set(EVENT_TYPES));
  });

  test('sequences per aggregate must be 1..n: a gap or a repeat is caught, across sagas too', () => {
    const clean = [
      ev('order.created', 'o1', 1),
      ev('order.approved', 'o1', 2),
      ev('order.refunded', 'o1', 3, 'r'),
    ];
    expect(sequenceGapViolations(clean)).toEqual([]);
    expect(sequenceGapViolations([ev('order.created', 'o1', 1), ev('order.approved', 'o1', 3)])).toEqual([
      { sagaId: '(order o1)', rule: 'outbox-sequence', detail: 'sequences 1, 3, not 1..2' },
    ]);
    expect(sequenceGapViolations([ev('payment.authorized', 'p', 1), ev('payment.voided', 'p', 1)])).toEqual([
      expect.objectContaining({ rule: 'outbox-sequence' }),
    ]);
    expect(sequenceGapViolations([ev('shipment.scheduled', 'h', 2)])).toHaveLength(1);
  });
});
