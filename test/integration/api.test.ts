import request from 'supertest';
import type { Express } from 'express';
import { randomUUID } from 'node:crypto';
import { openServiceDbs } from '../support/rows';
import { SAMPLE_TOTAL, sampleOrder } from '../support/orders';
import { startStack, type Stack } from '../support/stack';
import { auth, createTestApp } from '../support/api';

/** End to end through the REST API: the real app, the real Temporal server, the three real databases. */
describe('REST API', () => {
  let stack: Stack;
  let app: Express;
  const dbs = openServiceDbs();

  beforeAll(async () => {
    stack = await startStack();
    app = createTestApp(stack);
  });
  afterAll(async () => {
    await stack?.stop();
    await dbs.close();
  });

  async function countSagas(): Promise<number> {
    const { count } = await stack.client.workflow.count(`TaskQueue = '${stack.queues.orchestrator}'`);
    return count;
  }

  test('POST /sagas starts a saga that completes, with rows in all three databases', async () => {
    const res = await request(app).post('/sagas?waitSeconds=30').set(auth).send(sampleOrder());
    expect(res.status).toBe(200);
    expect(res.headers.location).toBe(`/sagas/${res.body.sagaId}`);
    expect(res.body).toMatchObject({
      status: 'COMPLETED',
      saga: { status: 'COMPLETED', temporalStatus: 'COMPLETED' },
    });
    expect(res.body.saga.links.webUi).toContain(`/namespaces/default/workflows/${res.body.sagaId}`);

    const rows = await dbs.rowsOf(res.body.sagaId);
    expect(rows.order).toMatchObject({ id: res.body.orderId, status: 'APPROVED', totalAmount: SAMPLE_TOTAL });
    expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
    expect(rows.shipment).toMatchObject({ status: 'SCHEDULED' });

    const got = await request(app).get(`/sagas/${res.body.sagaId}`).set(auth);
    expect(got.status).toBe(200);
    expect(got.body.steps).toHaveLength(5);
    expect(got.body.result.trackingNumber).toBe(`TRK-${res.body.sagaId}`);
  });

  test('without waiting, POST /sagas answers 202 with a Location', async () => {
    const res = await request(app).post('/sagas').set(auth).send(sampleOrder());
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('RUNNING');
    expect(res.headers.location).toBe(`/sagas/${res.body.sagaId}`);
    await stack.client.workflow.getHandle(res.body.sagaId).result();
  });

  test('invalid bodies get a problem naming the field, and start nothing', async () => {
    const before = await countSagas();
    const bad = { ...sampleOrder(), items: [{ sku: 'x', quantity: -1, unitPrice: 10 }] };
    const res = await request(app).post('/sagas').set(auth).send(bad);
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'body.items.0.quantity', rule: 'too_small' }),
      ]),
    );

    const unknownField = await request(app)
      .post('/sagas')
      .set(auth)
      .send({ ...sampleOrder(), admin: true });
    expect(unknownField.status).toBe(422);
    expect(unknownField.body.errors[0].rule).toBe('unrecognized_keys');

    const malformed = await request(app)
      .post('/sagas')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"customerId":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.type).toMatch(/malformed-json/);

    const wrongType = await request(app)
      .post('/sagas')
      .set(auth)
      .set('Content-Type', 'text/plain')
      .send('hello');
    expect(wrongType.status).toBe(415);

    const unauthorized = await request(app).post('/sagas').send(sampleOrder());
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body.detail).toMatch(/API key/);

    expect(await countSagas()).toBe(before);
  });

  test('the same Idempotency-Key returns the same saga; a different body with it is refused', async () => {
    const key = `idem-${randomUUID()}`;
    const first = await request(app).post('/sagas').set(auth).set('Idempotency-Key', key).send(sampleOrder());
    const again = await request(app).post('/sagas').set(auth).set('Idempotency-Key', key).send(sampleOrder());
    expect(first.status).toBe(202);
    expect([200, 202]).toContain(again.status);
    expect(again.body.sagaId).toBe(first.body.sagaId);
    expect(again.body.orderId).toBe(first.body.orderId);
    const other = await request(app)
      .post('/sagas')
      .set(auth)
      .set('Idempotency-Key', key)
      .send(sampleOrder({ customerId: 'someone-else' }));
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused/);
  });

  test('unknown saga: 404 problem', async () => {
    const res = await request(app).get(`/sagas/order-${randomUUID()}`).set(auth);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ status: 404, title: 'Not Found' });
  });

  test('cancel of a finished saga is refused with 409', async () => {
    const res = await request(app).post('/sagas?waitSeconds=30').set(auth).send(sampleOrder());
    expect(res.body.status).toBe('COMPLETED');
    const cancel = await request(app).post(`/sagas/${res.body.sagaId}/cancel`).set(auth);
    expect(cancel.status).toBe(409);
    const resume = await request(app).post(`/sagas/${res.body.sagaId}/resume`).set(auth);
    expect(resume.status).toBe(409);
  });

  test('list sagas by customer through Temporal visibility', async () => {
    const customerId = `cust-${randomUUID().slice(0, 8)}`;
    const started = await request(app)
      .post('/sagas?waitSeconds=30')
      .set(auth)
      .send(sampleOrder({ customerId }));
    expect(started.status).toBe(200);
    let listed: request.Response | undefined;
    for (let i = 0; i < 50; i++) {
      listed = await request(app).get(`/sagas?customerId=${customerId}&status=COMPLETED`).set(auth);
      if (listed.body.sagas?.length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(listed?.status).toBe(200);
    expect(listed?.body.sagas).toEqual([
      expect.objectContaining({ sagaId: started.body.sagaId, customerId, status: 'COMPLETED' }),
    ]);
  });
});
