import { checkInvariants } from '../../tools/invariants/check';
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
    const sources = {
      client: stack.client,
      orders: dbs.orders,
      payments: dbs.payments,
      shipments: dbs.shipments,
    };
    const narrow = `TaskQueue = '${stack.queues.orchestrator}'`;
    let report = await checkInvariants(sources, { narrow });
    for (let i = 0; i < 50 && report.sagasChecked < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200)); // visibility is eventually consistent
      report = await checkInvariants(sources, { narrow });
    }
    expect(report.sagasChecked).toBe(4);
    expect(report.byStatus).toEqual({ COMPLETED: 1, COMPENSATED: 3 });
    expect(report.violations).toEqual([]);

    const completed = handles[0]!.workflowId;
    await dbs.payments.payment.updateMany({ where: { sagaId: completed }, data: { status: 'REFUNDED' } });
    report = await checkInvariants(sources, { narrow });
    expect(report.violations).toEqual([
      expect.objectContaining({ sagaId: completed, rule: 'completed-payment' }),
    ]);
  });
});
