import type { SagaStatus } from '../../shared/saga-state';
import { endingViolation, type Effect, type RuleOptions, type SagaFacts, type Violation } from './rules';

/**
 * The invariants of refund sagas (workflows/refund-saga.ts), pure like rules.ts. A refund acts on the rows
 * its order's saga left; `facts.effects` are the refund's own ledger entries, the rows are the order's.
 */

/** The refund's forward effects by position: requestRefund, then the pivot, then the group, then close. */
export const REFUND_FORWARD: Record<string, number> = {
  'order.requestRefund': 0,
  'payment.refund': 1,
  // The steps after the pivot that run side by side share a rank.
  'shipment.cancel': 2,
  'inventory.release': 2,
  'order.completeRefund': 3,
};
/** Undoes requestRefund; runs only if the pivot did not happen. */
export const REFUND_COMPENSATION = 'order.abortRefund';
const PIVOT = 'payment.refund';

export interface RefundFacts extends SagaFacts {
  /** How the order's own saga ended (undefined if it is not among the sagas checked). */
  orderSagaStatus?: SagaStatus;
}

const applied = (effects: Effect[]) => effects.filter((e) => e.effect !== 'none');

/**
 * Whether the refund took the order's rows over: then the order saga's ending no longer describes them.
 * A compensated refund put everything back, so the order saga's own rules hold again.
 */
export function refundOwnsRows(refund: Pick<SagaFacts, 'status'>): boolean {
  return refund.status !== 'COMPENSATED';
}

export function checkRefundSaga(facts: RefundFacts, options: RuleOptions): Violation[] {
  const violations: Violation[] = [];
  const fail = (rule: string, detail: string) => violations.push({ sagaId: facts.sagaId, rule, detail });
  const ending = endingViolation(facts, options);
  if (ending) fail(ending.rule, ending.detail);
  const done = applied(facts.effects);
  const did = (operation: string) => done.some((e) => e.operation === operation);

  if (facts.status === 'COMPLETED') {
    if (facts.payment?.status !== 'REFUNDED')
      fail('refund-payment', `payment is ${facts.payment?.status ?? 'missing'}, not REFUNDED`);
    if (!did(PIVOT)) fail('refund-payment', 'the refund saga recorded no refund of the payment');
    if (facts.shipment?.status !== 'CANCELLED')
      fail('refund-shipment', `shipment is ${facts.shipment?.status ?? 'missing'}, not CANCELLED`);
    if (facts.reservation?.status === 'RESERVED') fail('refund-stock', 'stock was not put back');
    // An order saga compensating after its approval may cancel the order a refund raced it to.
    const raced = facts.orderSagaStatus === 'COMPENSATED' && facts.order?.status === 'CANCELLED';
    if (facts.order?.status !== 'REFUNDED' && !raced)
      fail('refund-order', `order is ${facts.order?.status ?? 'missing'}, not REFUNDED`);
    if (did(REFUND_COMPENSATION)) fail('refund-undone', `${REFUND_COMPENSATION} applied`);
  }
  if (facts.status === 'COMPENSATED') {
    const forward = done.filter((e) => (REFUND_FORWARD[e.operation] ?? 0) > 0).map((e) => e.operation);
    if (forward.length) fail('refund-compensated-effects', `applied after the pivot: ${forward.join(', ')}`);
    if (facts.order && ['REFUND_REQUESTED', 'REFUNDED'].includes(facts.order.status))
      fail('refund-compensated-order', `order left ${facts.order.status}`);
    if (facts.orderSagaStatus === 'COMPLETED') {
      if (facts.order?.status !== 'APPROVED')
        fail('refund-compensated-order', `order is ${facts.order?.status ?? 'missing'}, not APPROVED`);
      if (facts.payment?.status !== 'CAPTURED')
        fail('refund-compensated-payment', `payment is ${facts.payment?.status ?? 'missing'}, not CAPTURED`);
    }
  }

  const counts = new Map<string, number>();
  for (const e of done) counts.set(e.operation, (counts.get(e.operation) ?? 0) + 1);
  for (const [operation, count] of counts) {
    if (count > 1) fail('duplicate-effect', `${operation} applied ${count} times`);
  }
  const sequenceProblem = refundSequenceViolation(done);
  if (sequenceProblem) fail('sequence', sequenceProblem);
  return violations;
}

/**
 * The refund's effects are a prefix of its forward steps (those after the pivot in any order among
 * themselves), or requestRefund then abortRefund: an abort after the pivot, or a step after the abort,
 * is out of order.
 */
export function refundSequenceViolation(effects: Effect[]): string | undefined {
  const sorted = [...effects].sort((a, b) => a.at - b.at);
  const names = sorted.map((e) => e.operation);
  const ranks = names.flatMap((n) => (n in REFUND_FORWARD ? [REFUND_FORWARD[n] as number] : []));
  if (ranks.some((r, i) => i > 0 && r < (ranks[i - 1] as number)))
    return `forward effects ${names.filter((n) => n in REFUND_FORWARD).join(' > ')} are out of order`;
  if (names.includes(PIVOT) && !names.includes('order.requestRefund'))
    return `${PIVOT} applied without order.requestRefund`;
  if (ranks.some((r) => r > 1) && !names.includes(PIVOT))
    return `steps after the pivot applied without ${PIVOT}: ${names.join(' > ')}`;
  const abort = names.indexOf(REFUND_COMPENSATION);
  if (abort !== -1) {
    if (names.includes(PIVOT)) return `${REFUND_COMPENSATION} applied although ${PIVOT} was`;
    if (names.slice(abort + 1).some((n) => n in REFUND_FORWARD))
      return `forward effects applied after ${REFUND_COMPENSATION}: ${names.join(' > ')}`;
  }
  return undefined;
}
