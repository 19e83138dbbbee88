import { checkRefundSaga, refundOwnsRows, type RefundFacts } from '../../tools/invariants/refund-rules';
import { checkSaga, type Effect, type SagaFacts } from '../../tools/invariants/rules';

const options = { now: 1_000_000, staleAfterMs: 60_000 };
let clock = 0;
const fx = (...names: string[]): Effect[] =>
  names.map((n) => {
    const [operation, effect] = n.split(':') as [string, string];
    return { operation, effect, at: ++clock };
  });

const refunded = (): RefundFacts => ({
  sagaId: 'refund-ord_1',
  orderId: 'ord_1',
  status: 'COMPLETED',
  temporalStatus: 'COMPLETED',
  startedAt: 999_000,
  orderSagaStatus: 'COMPLETED',
  order: { status: 'REFUNDED', totalAmount: 100 },
  payment: { status: 'REFUNDED', amount: 100 },
  shipment: { status: 'CANCELLED' },
  effects: fx(
    'order.requestRefund:requested',
    'payment.refund:refunded',
    'shipment.cancel:cancelled',
    'order.completeRefund:refunded',
  ),
});

/** Refused by the orders service (the order saga did not complete): only the abort's tombstone. */
const refused = (): RefundFacts => ({
  ...refunded(),
  status: 'COMPENSATED',
  orderSagaStatus: 'COMPENSATED',
  order: { status: 'CANCELLED', totalAmount: 100 },
  payment: { status: 'DECLINED', amount: 100 },
  shipment: null,
  effects: fx('order.requestRefund:none', 'order.abortRefund:tombstone'),
});

/** Cancelled by a user before the pivot: the order is back to APPROVED. */
const cancelled = (): RefundFacts => ({
  ...refunded(),
  status: 'COMPENSATED',
  order: { status: 'APPROVED', totalAmount: 100 },
  payment: { status: 'CAPTURED', amount: 100 },
  shipment: { status: 'SCHEDULED' },
  effects: fx('order.requestRefund:requested', 'order.abortRefund:reverted'),
});

const rules = (facts: RefundFacts) => checkRefundSaga(facts, options).map((v) => v.rule);

describe('refund saga invariants', () => {
  test('a completed refund restocked the order: units left reserved are caught', () => {
    const restocked = { ...refunded(), reservation: { status: 'RELEASED' } };
    expect(checkRefundSaga(restocked, options)).toEqual([]);
    expect(
      checkRefundSaga({ ...restocked, reservation: { status: 'RESERVED' } }, options).map((v) => v.rule),
    ).toEqual(['refund-stock']);
    // A compensated refund restocked nothing: a release after the pivot is an effect it must not have.
    expect(
      checkRefundSaga(
        { ...cancelled(), effects: fx('order.requestRefund:requested', 'inventory.release:released') },
        options,
      ).map((v) => v.rule),
    ).toContain('refund-compensated-effects');
  });

  test('a completed refund, a refused one and one cancelled before its pivot pass', () => {
    expect(rules(refunded())).toEqual([]);
    expect(rules(refused())).toEqual([]);
    expect(rules(cancelled())).toEqual([]);
  });

  test('a completed refund that left money taken, a shipment or the order open is caught', () => {
    expect(rules({ ...refunded(), payment: { status: 'CAPTURED', amount: 100 } })).toContain(
      'refund-payment',
    );
    expect(rules({ ...refunded(), shipment: { status: 'SCHEDULED' } })).toContain('refund-shipment');
    expect(rules({ ...refunded(), order: { status: 'REFUND_REQUESTED', totalAmount: 100 } })).toContain(
      'refund-order',
    );
  });

  test('a completed refund must have refunded the payment itself, not found it refunded', () => {
    const facts = refunded();
    const foundRefunded = facts.effects.filter((e) => e.operation !== 'payment.refund');
    expect(rules({ ...facts, effects: foundRefunded })).toContain('refund-payment');
  });

  test('an order cancelled instead of refunded passes only when its order saga compensated (the race)', () => {
    const cancelledOrder = { ...refunded(), order: { status: 'CANCELLED', totalAmount: 100 } };
    expect(rules(cancelledOrder)).toContain('refund-order');
    expect(rules({ ...cancelledOrder, orderSagaStatus: 'COMPENSATED' })).toEqual([]);
  });

  test('a compensated refund that refunded, left the order open, or did not restore it is caught', () => {
    expect(
      rules({
        ...cancelled(),
        effects: fx('order.requestRefund:requested', 'payment.refund:refunded', 'order.abortRefund:reverted'),
      }),
    ).toEqual(expect.arrayContaining(['refund-compensated-effects', 'sequence']));
    expect(rules({ ...cancelled(), order: { status: 'REFUND_REQUESTED', totalAmount: 100 } })).toContain(
      'refund-compensated-order',
    );
    expect(rules({ ...cancelled(), payment: { status: 'REFUNDED', amount: 100 } })).toContain(
      'refund-compensated-payment',
    );
  });

  test('a refund applied twice, or steps out of order, is caught', () => {
    const facts = refunded();
    expect(rules({ ...facts, effects: [...facts.effects, ...fx('payment.refund:refunded')] })).toEqual(
      expect.arrayContaining(['duplicate-effect', 'sequence']),
    );
    expect(
      rules({
        ...facts,
        effects: fx(
          'order.requestRefund:requested',
          'shipment.cancel:cancelled',
          'payment.refund:refunded',
          'order.completeRefund:refunded',
        ),
      }),
    ).toContain('sequence');
    expect(
      rules({ ...facts, effects: fx('payment.refund:refunded', 'shipment.cancel:cancelled') }),
    ).toContain('sequence');
  });

  test('a refund stuck running, or ended abnormally, is reported like any saga', () => {
    expect(rules({ ...refunded(), status: 'RUNNING', temporalStatus: 'RUNNING', startedAt: 0 })).toContain(
      'not-final',
    );
    expect(rules({ ...refunded(), temporalStatus: 'TERMINATED' })).toContain('ended-abnormally');
  });
});

describe('order saga rules once its order was refunded', () => {
  const orderSaga = (): SagaFacts => ({
    sagaId: 'order-1',
    orderId: 'ord_1',
    status: 'COMPLETED',
    temporalStatus: 'COMPLETED',
    startedAt: 999_000,
    // The rows as the refund left them; the effects are the order saga's own.
    order: { status: 'REFUNDED', totalAmount: 100 },
    payment: { status: 'REFUNDED', amount: 100 },
    shipment: { status: 'CANCELLED' },
    effects: fx(
      'order.create:created',
      'payment.authorize:authorized',
      'shipment.schedule:scheduled',
      'payment.capture:captured',
      'order.approve:approved',
    ),
  });
  const orderRules = (facts: SagaFacts) => checkSaga(facts, options).map((v) => v.rule);

  test('a refund that is not compensated owns the rows; a compensated one gives them back', () => {
    expect(refundOwnsRows({ status: 'COMPLETED' })).toBe(true);
    expect(refundOwnsRows({ status: 'RUNNING' })).toBe(true);
    expect(refundOwnsRows({ status: 'COMPENSATED' })).toBe(false);
  });

  test('the completed order saga is not blamed for the refund; without one, it is', () => {
    expect(orderRules({ ...orderSaga(), rowsChangedBy: 'refund-ord_1' })).toEqual([]);
    expect(orderRules(orderSaga())).toEqual(
      expect.arrayContaining(['completed-order', 'completed-payment', 'completed-shipment']),
    );
  });

  test('its own effects are still checked', () => {
    const facts = { ...orderSaga(), rowsChangedBy: 'refund-ord_1' };
    expect(
      orderRules({ ...facts, effects: [...facts.effects, ...fx('payment.capture:captured')] }),
    ).toContain('duplicate-effect');
  });
});
