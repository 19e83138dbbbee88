import type { OrderRequest } from '../../shared/order';
import type { CallPolicy } from '../../shared/saga-settings';
import {
  classifyCompensation,
  paymentOutlook,
  sagaOutlook,
  stepBudgetOf,
  type SagaStory,
  type StepBudget,
} from '../../tools/invariants/would-complete';

const policy: CallPolicy = {
  startToCloseTimeout: '10s',
  maximumAttempts: 5,
  initialInterval: '200ms',
  maximumInterval: '10s',
  backoffCoefficient: 2,
};
/** Today's engine: five attempts per step. */
const attempts: StepBudget = { maximumAttempts: 5, startToCloseTimeoutMs: 10_000, policy };
/** The forward-recovery engine's shipped defaults: retried until a 10-minute step deadline. */
const deadline: StepBudget = { deadlineMs: 600_000, startToCloseTimeoutMs: 10_000, policy };

const order = (over: Partial<OrderRequest> = {}): OrderRequest => ({
  customerId: 'c-1',
  currency: 'EUR',
  items: [{ sku: 'a', quantity: 1, unitPrice: 500 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'N', line1: 'L', city: 'Berlin', postalCode: '10115', country: 'DE' },
  ...over,
});
const settings = { stepPolicy: policy, compensationPolicy: policy };

describe('paymentOutlook: replays the provider against the retry budget', () => {
  test.each(['tok_visa', 'tok_mastercard', 'tok_amex', 'tok_visa_debit'])('%s completes', (token) => {
    expect(paymentOutlook(token, attempts).verdict).toBe('completes');
    expect(paymentOutlook(token, undefined).verdict).toBe('completes');
  });

  test.each(['tok_chargeDeclined', 'tok_chargeDeclinedInsufficientFunds', 'tok_unknown'])(
    '%s fails whatever the budget',
    (token) => {
      expect(paymentOutlook(token, attempts).verdict).toBe('fails');
      expect(paymentOutlook(token, deadline).verdict).toBe('fails');
    },
  );

  test('tok_timeout never completes: every attempt hangs until its timeout', () => {
    expect(paymentOutlook('tok_timeout', attempts)).toEqual({
      verdict: 'fails',
      reason: 'payment not approved within 5 attempts',
    });
    expect(paymentOutlook('tok_timeout', deadline).verdict).toBe('fails');
  });

  test('tok_processingError_N completes while N failures fit in the attempts', () => {
    expect(paymentOutlook('tok_processingError', attempts).verdict).toBe('completes'); // 2 failures
    expect(paymentOutlook('tok_processingError_4', attempts)).toEqual({
      verdict: 'completes',
      reason: 'payment approved at attempt 5',
    });
    expect(paymentOutlook('tok_processingError_5', attempts).verdict).toBe('fails');
  });

  test('tok_processingError_N against the 10-minute deadline: 64 fits, 65 is too close to tell, 66 does not', () => {
    // Backoffs 0.2, 0.4, 0.8, 1.6, 3.2, 6.4 s then 10 s each: attempt N+1 starts 12.6 s + (N-6) x 10 s in.
    expect(paymentOutlook('tok_processingError_64', deadline).verdict).toBe('completes'); // 592.6 s
    expect(paymentOutlook('tok_processingError_65', deadline).verdict).toBe('undetermined'); // 602.6 s
    expect(paymentOutlook('tok_processingError_66', deadline).verdict).toBe('fails'); // 612.6 s
    expect(paymentOutlook('tok_processingError_99', deadline).verdict).toBe('fails');
  });

  test('retries without any budget in the settings are undetermined', () => {
    const unbounded = { startToCloseTimeoutMs: 10_000, policy };
    expect(paymentOutlook('tok_processingError', unbounded).verdict).toBe('undetermined');
    expect(paymentOutlook('tok_processingError', undefined).verdict).toBe('undetermined');
  });
});

describe('stepBudgetOf: the budget the saga ran with, from its input settings', () => {
  test("today's settings: attempts", () => {
    expect(stepBudgetOf(settings)).toMatchObject({ maximumAttempts: 5, startToCloseTimeoutMs: 10_000 });
  });
  test('forward-recovery settings: a step deadline, no attempts', () => {
    const { maximumAttempts: _dropped, ...rest } = policy;
    expect(stepBudgetOf({ stepPolicy: { ...rest, deadline: '10m' } })).toMatchObject({
      maximumAttempts: undefined,
      deadlineMs: 600_000,
    });
  });
  test('no settings', () => expect(stepBudgetOf(undefined)).toBeUndefined());
});

describe('sagaOutlook: payment, then carrier, then the customer account', () => {
  test('a good order completes', () => {
    expect(sagaOutlook({ order: order(), settings }).verdict).toBe('completes');
  });
  test('an unserviceable country or postal code fails', () => {
    const aq = order({ shippingAddress: { ...order().shippingAddress, country: 'AQ' } });
    const zeros = order({ shippingAddress: { ...order().shippingAddress, postalCode: '0000' } });
    expect(sagaOutlook({ order: aq, settings }).verdict).toBe('fails');
    expect(sagaOutlook({ order: zeros, settings }).verdict).toBe('fails');
  });
  test('a customer on hold fails (at approval)', () => {
    expect(sagaOutlook({ order: order({ customerId: 'hold-7' }), settings }).verdict).toBe('fails');
  });
  test('a failing reason wins over an undetermined payment', () => {
    const o = order({ paymentToken: 'tok_processingError', customerId: 'hold-1' });
    expect(sagaOutlook({ order: o, settings: undefined }).verdict).toBe('fails');
    expect(sagaOutlook({ order: order({ paymentToken: 'tok_processingError' }) }).verdict).toBe(
      'undetermined',
    );
  });
});

describe('classifyCompensation', () => {
  const story = (over: Partial<SagaStory> = {}): SagaStory => ({
    sagaId: 's',
    status: 'COMPENSATED',
    input: { order: order(), settings },
    failure: { step: 'authorizePayment', reason: "Can't reach database server", cancelled: false },
    cancelRequested: false,
    ...over,
  });

  test('a good order rolled back by a fault is counted', () => {
    expect(classifyCompensation(story())).toEqual({
      kind: 'counted',
      finding: {
        sagaId: 's',
        detail:
          'COMPENSATED (step authorizePayment failed); its input would have completed: payment approved, address serviceable, customer not on hold',
      },
    });
  });
  test.each(['COMPENSATING', 'COMPENSATION_FAILED', 'RESOLVED'] as const)('%s counts too', (status) => {
    expect(classifyCompensation(story({ status }))?.kind).toBe('counted');
  });
  test('completed and running sagas are not concerned', () => {
    expect(classifyCompensation(story({ status: 'COMPLETED' }))).toBeUndefined();
    expect(classifyCompensation(story({ status: 'RUNNING' }))).toBeUndefined();
  });
  test('a saga cancelled by a user is not counted', () => {
    const failure = { reason: 'cancelled', cancelled: true };
    expect(classifyCompensation(story({ failure, cancelRequested: true }))).toBeUndefined();
  });
  test('a saga that lost the race for the last units is not counted; a fault at the same step is', () => {
    const outOfStock = {
      step: 'reserveStock',
      reason: 'OutOfStock: out of stock: sku-scarce has 0 of 1 available',
      cancelled: false,
    };
    expect(classifyCompensation(story({ failure: outOfStock }))).toBeUndefined();
    const outage = { step: 'reserveStock', reason: "Can't reach database server", cancelled: false };
    expect(classifyCompensation(story({ failure: outage }))?.kind).toBe('counted');
  });
  test('a saga whose input fails anyway is not counted', () => {
    const input = { order: order({ paymentToken: 'tok_chargeDeclined' }), settings };
    expect(classifyCompensation(story({ input }))).toBeUndefined();
    const timeout = { order: order({ paymentToken: 'tok_timeout' }), settings };
    expect(classifyCompensation(story({ input: timeout }))).toBeUndefined();
  });
  test('a cancel requested after a fault had already failed the saga does not excuse it', () => {
    expect(classifyCompensation(story({ cancelRequested: true }))?.kind).toBe('counted');
  });
  test('unknown facts are undetermined, never counted', () => {
    expect(classifyCompensation(story({ input: undefined }))?.kind).toBe('undetermined');
    expect(classifyCompensation(story({ failure: undefined, cancelRequested: true }))?.kind).toBe(
      'undetermined',
    );
    expect(classifyCompensation(story({ failure: undefined, cancelRequested: undefined }))?.kind).toBe(
      'undetermined',
    );
  });
  test('without a failure on record but with no cancel requested, it is counted', () => {
    expect(classifyCompensation(story({ failure: undefined }))?.kind).toBe('counted');
  });
});
