import { checkSaga, type Effect, type SagaFacts } from '../../tools/invariants/rules';

const options = { now: 1_000_000, staleAfterMs: 60_000 };
let clock = 0;
const fx = (...names: string[]): Effect[] =>
  names.map((n) => {
    const [operation, effect] = n.split(':') as [string, string];
    return { operation, effect, at: ++clock };
  });

const completed = (): SagaFacts => ({
  sagaId: 's',
  status: 'COMPLETED',
  temporalStatus: 'COMPLETED',
  startedAt: 999_000,
  order: { status: 'APPROVED', totalAmount: 100 },
  payment: { status: 'CAPTURED', amount: 100 },
  shipment: { status: 'SCHEDULED' },
  effects: fx(
    'order.create:created',
    'payment.authorize:authorized',
    'shipment.schedule:scheduled',
    'payment.capture:captured',
    'order.approve:approved',
  ),
});

const compensated = (): SagaFacts => ({
  sagaId: 's',
  status: 'COMPENSATED',
  temporalStatus: 'COMPLETED',
  startedAt: 999_000,
  order: { status: 'CANCELLED', totalAmount: 100 },
  payment: { status: 'VOIDED', amount: 100 },
  shipment: { status: 'CANCELLED' },
  effects: fx(
    'order.create:created',
    'payment.authorize:authorized',
    'shipment.cancel:tombstone',
    'payment.release:voided',
    'order.cancel:cancelled',
  ),
});

const rules = (facts: SagaFacts) => checkSaga(facts, options).map((v) => v.rule);

describe('invariant rules', () => {
  test('a clean completed and a clean compensated saga pass', () => {
    expect(rules(completed())).toEqual([]);
    expect(rules(compensated())).toEqual([]);
  });
  test('a completed saga with a refunded payment or a wrong amount is caught', () => {
    expect(rules({ ...completed(), payment: { status: 'REFUNDED', amount: 100 } })).toContain(
      'completed-payment',
    );
    expect(rules({ ...completed(), payment: { status: 'CAPTURED', amount: 90 } })).toContain(
      'completed-amount',
    );
    expect(rules({ ...completed(), shipment: null })).toContain('completed-shipment');
  });
  test('a compensated saga that left money or a shipment behind is caught', () => {
    expect(rules({ ...compensated(), payment: { status: 'CAPTURED', amount: 100 } })).toContain(
      'compensated-payment',
    );
    expect(rules({ ...compensated(), shipment: { status: 'SCHEDULED' } })).toContain('compensated-shipment');
    expect(rules({ ...compensated(), order: { status: 'PENDING', totalAmount: 1 } })).toContain(
      'compensated-order',
    );
  });
  test('a saga cancelled before its first step passes only if nothing at all was done', () => {
    const untouched = { ...compensated(), order: null, payment: null, shipment: null, effects: [] };
    expect(rules(untouched)).toEqual([]);
    expect(rules({ ...untouched, effects: fx('payment.authorize:authorized') })).toContain(
      'compensated-order',
    );
    expect(rules({ ...untouched, payment: { status: 'VOIDED', amount: 0 } })).toContain('compensated-order');
  });
  test('a duplicated effect is caught', () => {
    const facts = completed();
    expect(rules({ ...facts, effects: [...facts.effects, ...fx('payment.capture:captured')] })).toContain(
      'duplicate-effect',
    );
  });
  test('sequences: a gap, a compensation before the end of the forward run, or compensations out of order', () => {
    expect(
      rules({ ...compensated(), effects: fx('order.create:created', 'shipment.schedule:scheduled') }),
    ).toContain('sequence');
    expect(
      rules({
        ...compensated(),
        effects: fx('order.create:created', 'order.cancel:cancelled', 'payment.authorize:authorized'),
      }),
    ).toContain('sequence');
    const outOfOrder = fx(
      'order.create:created',
      'payment.authorize:authorized',
      'order.cancel:cancelled',
      'payment.release:voided',
    );
    expect(rules({ ...compensated(), effects: outOfOrder })).toContain('sequence');
    expect(rules({ ...compensated(), effects: outOfOrder, compensationMode: 'parallel' })).not.toContain(
      'sequence',
    );
  });
  test('order saga v2: stock reserved before payment, released in reverse; its rows checked too', () => {
    const v2 = (): SagaFacts => ({
      ...completed(),
      reservation: { status: 'RESERVED' },
      effects: fx(
        'order.create:created',
        'inventory.reserve:reserved',
        'payment.authorize:authorized',
        'shipment.schedule:scheduled',
        'payment.capture:captured',
        'order.approve:approved',
      ),
    });
    expect(rules(v2())).toEqual([]);
    expect(rules({ ...v2(), reservation: { status: 'RELEASED' } })).toEqual(['completed-stock']);
    // Reserving after the payment fits neither version's order of steps.
    expect(
      rules({
        ...v2(),
        effects: fx('order.create:created', 'payment.authorize:authorized', 'inventory.reserve:reserved'),
        status: 'RUNNING',
        temporalStatus: 'RUNNING',
      }),
    ).toEqual(['sequence']);
    const backward = (reservation: string, ...effects: string[]): SagaFacts => ({
      ...compensated(),
      reservation: { status: reservation },
      effects: fx(...effects),
    });
    expect(
      rules(
        backward(
          'RELEASED',
          'order.create:created',
          'inventory.reserve:reserved',
          'payment.authorize:declined',
          'payment.release:none',
          'inventory.release:released',
          'order.cancel:cancelled',
        ),
      ),
    ).toEqual([]);
    expect(
      rules(
        backward('RESERVED', 'order.create:created', 'inventory.reserve:reserved', 'order.cancel:cancelled'),
      ),
    ).toEqual(['compensated-stock']);
    // Stock released before the payment it was reserved ahead of: not in reverse order.
    expect(
      rules(
        backward(
          'RELEASED',
          'order.create:created',
          'inventory.reserve:reserved',
          'payment.authorize:authorized',
          'inventory.release:released',
          'payment.release:voided',
          'order.cancel:cancelled',
        ),
      ),
    ).toEqual(['sequence']);
  });

  test('lost or stuck sagas are caught; a parked one is not', () => {
    expect(rules({ ...compensated(), status: 'RUNNING', temporalStatus: 'RUNNING', startedAt: 0 })).toContain(
      'not-final',
    );
    expect(
      rules({ ...compensated(), status: 'RUNNING', temporalStatus: 'RUNNING', startedAt: 990_000 }),
    ).not.toContain('not-final');
    expect(
      rules({ ...compensated(), status: 'COMPENSATION_FAILED', temporalStatus: 'RUNNING', startedAt: 0 }),
    ).not.toContain('not-final');
    expect(rules({ ...completed(), temporalStatus: 'TERMINATED' })).toContain('ended-abnormally');
  });
});
