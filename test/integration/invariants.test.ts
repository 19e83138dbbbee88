import { randomUUID } from 'node:crypto';
import { transientFailure } from '../../activities/shared/failures';
import type { ActivityMeta } from '../../shared/activity-meta';
import { checkStackUntil } from '../support/invariants';
import { openServiceDbs } from '../support/rows';
import { sampleOrder, startSaga } from '../support/orders';
import { startStack, type Stack } from '../support/stack';

/** The invariant checker on real sagas: clean endings pass; a tampered row is reported by saga and rule. */
describe('invariant checker', () => {
  let stack: Stack;
  const dbs = openServiceDbs();
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
    await dbs.close();
  });

  test('finds nothing wrong with real endings, and reports a tampered payment', async () => {
    const order = sampleOrder();
    const handles = await Promise.all([
      startSaga(stack),
      startSaga(stack, sampleOrder({ paymentToken: 'tok_chargeDeclined' })),
      startSaga(stack, { ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } }),
      startSaga(stack, sampleOrder({ customerId: 'hold-1' }), {
        ...stack.settings,
        compensationMode: 'parallel',
      }),
    ]);
    await Promise.all(handles.map((h) => h.result()));
    const report = await checkStackUntil(stack, dbs, (r) => r.sagasChecked >= 4);
    expect(report.sagasChecked).toBe(4);
    expect(report.byStatus).toEqual({ COMPLETED: 1, COMPENSATED: 3 });
    expect(report.violations).toEqual([]);
    // Each compensated saga's input fails on its own (declined, not serviceable, on hold).
    expect(report.compensatedWouldHaveCompleted).toEqual([]);
    expect(report.undetermined).toEqual([]);

    const completed = handles[0]!.workflowId;
    await dbs.payments.payment.updateMany({ where: { sagaId: completed }, data: { status: 'REFUNDED' } });
    const tampered = await checkStackUntil(stack, dbs, () => true);
    expect(tampered.violations).toEqual([
      expect.objectContaining({ sagaId: completed, rule: 'completed-payment' }),
    ]);
  });
});

/** Sagas rolled back by a technical fault although their input would have completed are counted. */
describe('invariant checker: compensated that would have completed', () => {
  const dbs = openServiceDbs();
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      wrap:
        (name, activity) =>
        async (...args) => {
          const { sagaId } = args[1] as ActivityMeta;
          // A dependency that stays down longer than the step deadline of that saga.
          if (name === 'capturePayment' && sagaId.startsWith('order-faulty-'))
            throw transientFailure('DatabaseUnavailable', "Can't reach database server");
          if (name === 'authorizePayment' && sagaId.startsWith('order-cancelled-'))
            await new Promise((resolve) => setTimeout(resolve, 1000));
          return activity(...args);
        },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await dbs.close();
  });

  test('counts the fault victim, not the cancelled saga nor the one that fails anyway', async () => {
    // Its deadline is what makes it a victim, so it is short (shipped: 10 minutes).
    const shortDeadline = {
      ...stack.settings,
      stepPolicy: { ...stack.settings.stepPolicy, deadline: '3s' as const },
    };
    const faulty = await startSaga(stack, sampleOrder(), shortDeadline, `order-faulty-${randomUUID()}`);
    const declined = await startSaga(
      stack,
      sampleOrder({ paymentToken: 'tok_chargeDeclined' }),
      stack.settings,
      `order-faulty-${randomUUID()}`,
    );
    const cancelled = await startSaga(
      stack,
      sampleOrder(),
      stack.settings,
      `order-cancelled-${randomUUID()}`,
    );
    await cancelled.cancel();
    const outcomes = await Promise.all([faulty, declined, cancelled].map((h) => h.result()));
    expect(outcomes.map((o) => [o.status, o.failure?.cancelled])).toEqual([
      ['COMPENSATED', false],
      ['COMPENSATED', false],
      ['COMPENSATED', true],
    ]);
    const report = await checkStackUntil(stack, dbs, (r) => r.sagasChecked >= 3);
    expect(report.violations).toEqual([]);
    expect(report.undetermined).toEqual([]);
    expect(report.compensatedWouldHaveCompleted).toEqual([
      {
        sagaId: faulty.workflowId,
        detail: expect.stringMatching(
          /^COMPENSATED \(step capturePayment failed\); its input would have completed/,
        ),
      },
    ]);
  });
});
