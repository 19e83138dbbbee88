import type { SagaStatus } from '../../shared/saga-state';
import type { OutboxFact } from './outbox-rules';

/**
 * The invariants every accepted saga must satisfy, as pure functions of what was read from Temporal
 * visibility and the three service databases (see facts.ts). Garcia-Molina and Salem (1987): the effects
 * of a saga are T1..Tn, or T1..Tj followed by Cj..C1.
 */

/** The forward effects of each released version of the order saga (workflows/order-saga), in order. */
export const FORWARD_BY_VERSION: Record<number, readonly string[]> = {
  1: ['order.create', 'payment.authorize', 'shipment.schedule', 'payment.capture', 'order.approve'],
  2: [
    'order.create',
    'inventory.reserve',
    'payment.authorize',
    'shipment.schedule',
    'payment.capture',
    'order.approve',
  ],
};
const FORWARD = [...new Set(Object.values(FORWARD_BY_VERSION).flat())];
/** The compensation of each forward step that has one; capture and approve are undone by these too. */
export const COMPENSATION_OF: Record<string, string> = {
  'order.create': 'order.cancel',
  'inventory.reserve': 'inventory.release',
  'payment.authorize': 'payment.release',
  'shipment.schedule': 'shipment.cancel',
};
const COMPENSATION_ORDER = ['shipment.cancel', 'payment.release', 'inventory.release', 'order.cancel'];

export interface Effect {
  /** service.operation, e.g. payment.authorize */
  operation: string;
  /** What the operation did: created, authorized, voided, tombstone, ... or none (nothing to do). */
  effect: string;
  at: number;
  amount?: number;
}

export interface SagaFacts {
  sagaId: string;
  /** The run checked: a saga id may be re-used by a later run after Temporal's retention. */
  runId?: string;
  /** The run's order (its OrderId search attribute); every row of the run derives from it. */
  orderId?: string;
  status?: SagaStatus;
  temporalStatus: string;
  startedAt: number;
  compensationMode?: 'sequential' | 'parallel';
  order?: { status: string; totalAmount: number } | null;
  payment?: { status: string; amount: number } | null;
  shipment?: { status: string } | null;
  /** The run's stock reservation (order saga version 2 on). */
  reservation?: { status: string } | null;
  effects: Effect[];
  /** The events this run wrote to the services' outboxes (undefined: the outboxes were not read). */
  events?: OutboxFact[];
  /**
   * A later saga (a refund, not compensated) changed this run's rows: their state is checked by that
   * saga's rules (refund-rules.ts), not by this run's ending.
   */
  rowsChangedBy?: string;
}

export interface Violation {
  sagaId: string;
  rule: string;
  detail: string;
}

export interface RuleOptions {
  now: number;
  /** A RUNNING saga older than this without reaching an end is a violation. */
  staleAfterMs: number;
}

const applied = (effects: Effect[]) => effects.filter((e) => e.effect !== 'none' && e.effect !== 'declined');

/** 1. Every accepted saga (of any kind) ends, or is still making progress, or waits for an operator with a reason. */
export function endingViolation(
  facts: Pick<SagaFacts, 'status' | 'temporalStatus' | 'startedAt'>,
  options: RuleOptions,
): { rule: string; detail: string } | undefined {
  const { status, temporalStatus } = facts;
  if (['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED'].includes(temporalStatus)) {
    return { rule: 'ended-abnormally', detail: `workflow ${temporalStatus} (status ${status ?? 'unknown'})` };
  }
  if (temporalStatus === 'RUNNING' && status !== 'COMPENSATION_FAILED') {
    if (options.now - facts.startedAt <= options.staleAfterMs) return undefined;
    const seconds = Math.round((options.now - facts.startedAt) / 1000);
    return { rule: 'not-final', detail: `still ${status ?? 'RUNNING'} after ${seconds} s` };
  }
  if (temporalStatus === 'COMPLETED' && !['COMPLETED', 'COMPENSATED', 'RESOLVED'].includes(status ?? '')) {
    return { rule: 'status-mismatch', detail: `workflow completed with SagaStatus ${status ?? 'unset'}` };
  }
  return undefined;
}

export function checkSaga(facts: SagaFacts, options: RuleOptions): Violation[] {
  const violations: Violation[] = [];
  const fail = (rule: string, detail: string) => violations.push({ sagaId: facts.sagaId, rule, detail });
  const { status } = facts;

  // 1. It ended properly (or still runs, or is parked).
  const ending = endingViolation(facts, options);
  if (ending) fail(ending.rule, ending.detail);

  // 2. The rows match the ending (unless a refund has changed them since).
  if (status === 'COMPLETED' && !facts.rowsChangedBy) {
    if (facts.order?.status !== 'APPROVED')
      fail('completed-order', `order is ${facts.order?.status ?? 'missing'}, not APPROVED`);
    if (facts.payment?.status !== 'CAPTURED')
      fail('completed-payment', `payment is ${facts.payment?.status ?? 'missing'}, not CAPTURED`);
    else if (facts.order && facts.payment.amount !== facts.order.totalAmount) {
      fail('completed-amount', `captured ${facts.payment.amount}, order total ${facts.order.totalAmount}`);
    }
    if (facts.shipment?.status !== 'SCHEDULED')
      fail('completed-shipment', `shipment is ${facts.shipment?.status ?? 'missing'}, not SCHEDULED`);
    // Version 1 reserves nothing; a completed saga that reserved keeps its units (they left with the parcel).
    if (facts.reservation && facts.reservation.status !== 'RESERVED')
      fail('completed-stock', `reservation is ${facts.reservation.status}, not RESERVED`);
    const undone = applied(facts.effects).filter((e) => COMPENSATION_ORDER.includes(e.operation));
    if (undone.length)
      fail('completed-undone', `compensations applied: ${undone.map((e) => e.operation).join(', ')}`);
  }
  if (status === 'COMPENSATED' && !facts.rowsChangedBy) {
    // Cancelled (or past its deadline) before its first step was scheduled: nothing was done, nothing to undo.
    const untouched =
      !facts.order && !facts.payment && !facts.shipment && !facts.reservation && facts.effects.length === 0;
    if (facts.order?.status !== 'CANCELLED' && !untouched)
      fail('compensated-order', `order is ${facts.order?.status ?? 'missing'}, not CANCELLED`);
    if (facts.payment && ['AUTHORIZED', 'CAPTURED'].includes(facts.payment.status)) {
      fail('compensated-payment', `payment left ${facts.payment.status}`);
    }
    if (facts.shipment?.status === 'SCHEDULED') fail('compensated-shipment', 'shipment left SCHEDULED');
    if (facts.reservation?.status === 'RESERVED') fail('compensated-stock', 'stock left RESERVED');
  }

  // 3. No effect applied twice.
  const counts = new Map<string, number>();
  for (const e of applied(facts.effects)) counts.set(e.operation, (counts.get(e.operation) ?? 0) + 1);
  for (const [operation, count] of counts) {
    if (count > 1) fail('duplicate-effect', `${operation} applied ${count} times`);
  }

  // 4. The sequence of effects is T1..Tj followed by the compensations in reverse (any order if parallel).
  const sequenceProblem = sequenceViolation(applied(facts.effects), facts.compensationMode ?? 'sequential');
  if (sequenceProblem) fail('sequence', sequenceProblem);
  return violations;
}

export function sequenceViolation(effects: Effect[], mode: 'sequential' | 'parallel'): string | undefined {
  const sorted = [...effects].sort((a, b) => a.at - b.at);
  const names = sorted.map((e) => e.operation);
  const forward = names.filter((n) => FORWARD.includes(n));
  const compensations = names.filter((n) => COMPENSATION_ORDER.includes(n));
  const versions = Object.values(FORWARD_BY_VERSION);
  if (!versions.some((steps) => forward.every((n, i) => n === steps[i]))) {
    const expected = versions.map((steps) => steps.join(' > ')).join(' or ');
    return `forward effects ${forward.join(' > ')} are not a prefix of ${expected}`;
  }
  const lastForward = Math.max(...sorted.map((e, i) => (FORWARD.includes(e.operation) ? i : -1)));
  const firstCompensation = sorted.findIndex((e) => COMPENSATION_ORDER.includes(e.operation));
  if (firstCompensation !== -1 && firstCompensation < lastForward) {
    return `compensation ${sorted[firstCompensation]?.operation} applied before forward ${sorted[lastForward]?.operation}`;
  }
  if (mode === 'sequential') {
    const ranks = compensations.map((c) => COMPENSATION_ORDER.indexOf(c));
    if (ranks.some((r, i) => i > 0 && r < (ranks[i - 1] as number))) {
      return `compensations ${compensations.join(' > ')} are not in reverse order`;
    }
  }
  return undefined;
}
