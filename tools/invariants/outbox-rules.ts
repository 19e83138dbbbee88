import type { EventType } from '../../shared/events';
import type { Effect, Violation } from './rules';

/**
 * The outbox's invariants, pure like rules.ts: every effect a service's ledger records has exactly one
 * event in that service's outbox, written by the same saga, and nothing else has one; each aggregate's
 * events are numbered 1..n without gaps or repeats.
 */

/** The event each applied effect (ledger operation:effect) writes; tombstones and 'none' write none. */
export const EVENT_OF_EFFECT = {
  'order.create:created': 'order.created',
  'order.approve:approved': 'order.approved',
  'order.cancel:cancelled': 'order.cancelled',
  'order.requestRefund:requested': 'order.refund_requested',
  'order.abortRefund:reverted': 'order.refund_aborted',
  'order.completeRefund:refunded': 'order.refunded',
  'payment.authorize:authorized': 'payment.authorized',
  'payment.authorize:declined': 'payment.declined',
  'payment.capture:captured': 'payment.captured',
  'payment.release:voided': 'payment.voided',
  'payment.release:refunded': 'payment.refunded',
  'payment.refund:refunded': 'payment.refunded',
  'shipment.schedule:scheduled': 'shipment.scheduled',
  'shipment.cancel:cancelled': 'shipment.cancelled',
  'inventory.reserve:reserved': 'reservation.reserved',
  'inventory.release:released': 'reservation.released',
} as const satisfies Record<string, EventType>;

/** Effects that change nothing anyone saw: no event. */
const NO_EVENT = new Set(['none', 'tombstone']);

/** An outbox row, as the checker reads it. */
export interface OutboxFact {
  id: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  sequence: number;
  sagaId: string;
}

/** This saga's ledger effects against this saga's events, one to one by event type. */
export function outboxViolations(facts: {
  sagaId: string;
  effects: Effect[];
  events: OutboxFact[];
}): Violation[] {
  const violations: Violation[] = [];
  const fail = (rule: string, detail: string) => violations.push({ sagaId: facts.sagaId, rule, detail });
  const expected = new Map<string, number>();
  for (const { operation, effect } of facts.effects) {
    if (NO_EVENT.has(effect)) continue;
    const type = (EVENT_OF_EFFECT as Record<string, string>)[`${operation}:${effect}`];
    if (!type) fail('outbox-unknown-effect', `${operation} recorded ${effect}, which has no event type`);
    else expected.set(type, (expected.get(type) ?? 0) + 1);
  }
  const written = new Map<string, number>();
  for (const event of facts.events) written.set(event.type, (written.get(event.type) ?? 0) + 1);
  for (const type of new Set([...expected.keys(), ...written.keys()])) {
    const want = expected.get(type) ?? 0;
    const got = written.get(type) ?? 0;
    if (got < want) fail('outbox-missing-event', `${want} effect(s) of ${type}, ${got} event(s)`);
    if (got > want) fail('outbox-extra-event', `${got} event(s) of ${type}, ${want} effect(s)`);
  }
  return violations;
}

/** Aggregates whose events are not numbered 1..n (whatever saga wrote them). */
export function sequenceGapViolations(events: OutboxFact[]): Violation[] {
  const streams = new Map<string, number[]>();
  for (const e of events) {
    const key = `${e.aggregateType} ${e.aggregateId}`;
    streams.set(key, [...(streams.get(key) ?? []), e.sequence]);
  }
  const violations: Violation[] = [];
  for (const [aggregate, sequences] of streams) {
    const sorted = [...sequences].sort((a, b) => a - b);
    if (sorted.some((s, i) => s !== i + 1)) {
      violations.push({
        sagaId: `(${aggregate})`,
        rule: 'outbox-sequence',
        detail: `sequences ${sorted.join(', ')}, not 1..${sorted.length}`,
      });
    }
  }
  return violations;
}
