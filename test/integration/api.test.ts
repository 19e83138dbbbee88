import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { execFileSync } from 'node:child_process';
import { buildOpenApiDocument } from '../../api/openapi';
import { keyIdOf } from '../../api/auth';
import { idempotentSagaId } from '../../api/saga-service';
import { auth, createTestApp, TEST_API_KEY } from '../support/api';
import { openApiConformance } from '../support/openapi-conformance';
import { SAMPLE_TOTAL, sampleOrder } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../scripts/lib/ports';
import type { SagaView } from '../../api/schemas';

type SagaBody = Partial<SagaView>;

/**
 * End to end through the REST API: the real app, the real Temporal server, the real service databases.
 * Every response received here is checked against the OpenAPI document.
 */
describe('REST API', () => {
  let stack: Stack;
  let app: Express;
  const dbs = openServiceDbs();
  const conformance = openApiConformance();
  const { send } = conformance;

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

  test('the OpenAPI document is valid OpenAPI 3.1 and is served with a local docs page', async () => {
    // The validator is an ES module, which Jest's CommonJS runtime cannot load: run it in a plain node.
    const script = [
      "import { readFileSync } from 'node:fs';",
      "import { Validator } from '@seriousme/openapi-schema-validator';",
      'const validator = new Validator();',
      "const result = await validator.validate(JSON.parse(readFileSync(0, 'utf8')));",
      'console.log(JSON.stringify({ ...result, version: validator.version }));',
    ].join('\n');
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      input: JSON.stringify(buildOpenApiDocument()),
      cwd: __dirname,
    });
    expect(JSON.parse(output.toString())).toMatchObject({ valid: true, version: '3.1' });
    const served = await request(app).get('/openapi.json');
    expect(served.body.openapi).toBe('3.1.0');
    const docs = await request(app).get('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger-ui');
    expect(docs.text).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/);
  });

  test('POST /sagas starts a saga that completes, with rows in every service database', async () => {
    const res = await send(request(app).post('/sagas?waitSeconds=30').set(auth).send(sampleOrder()));
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
    expect(rows.reservation).toMatchObject({ status: 'RESERVED' });

    const got = await send(request(app).get(`/sagas/${res.body.sagaId}`).set(auth));
    expect(got.status).toBe(200);
    expect(got.body.steps).toHaveLength(6);
    expect(got.body.result.trackingNumber).toBe(`TRK-${res.body.orderId}`);
  });

  test('a finished saga is read from its result: full state with no orchestrator running', async () => {
    // Its own stack, so its orchestrator can be stopped; the API reads through the suite's client.
    const own = await startStack();
    let sagaId: string;
    let whileUp: request.Response;
    try {
      const res = await send(
        request(createTestApp(own)).post('/sagas?waitSeconds=30').set(auth).send(sampleOrder()),
      );
      expect(res.body.status).toBe('COMPLETED');
      sagaId = res.body.sagaId as string;
      whileUp = await send(request(app).get(`/sagas/${sagaId}`).set(auth));
    } finally {
      await own.stop();
    }
    // A query now would wait for an orchestrator that never comes; the result holds the final state.
    const read = await send(request(app).get(`/sagas/${sagaId}`).set(auth));
    expect(read.status).toBe(200);
    expect(read.body).toEqual(whileUp.body);
    expect(read.body.steps).toHaveLength(6);
    expect(read.body.steps.every((step: { status: string }) => step.status === 'SUCCEEDED')).toBe(true);
    expect(read.body).toMatchObject({ status: 'COMPLETED', sagaVersion: 2, endedAt: expect.any(String) });
  });

  test('GET /stock/{sku} reads the inventory: levels of a stocked SKU, 404 for another, 400 for a bad one', async () => {
    const completed = await send(request(app).post('/sagas?waitSeconds=30').set(auth).send(sampleOrder()));
    expect(completed.body.status).toBe('COMPLETED');
    const stocked = await send(request(app).get('/stock/pen-7').set(auth));
    expect(stocked.status).toBe(200);
    // Other tests order pen-7 at the same time: the row read here is the one checked, not a fixed number.
    const row = await dbs.inventory.stock.findUniqueOrThrow({ where: { sku: 'pen-7' } });
    expect(stocked.body).toMatchObject({ sku: 'pen-7', onHand: row.onHand });
    expect(stocked.body.available).toBeLessThan(row.onHand);
    expect(stocked.body.available).toBeGreaterThanOrEqual(row.available);

    const unknown = await send(request(app).get('/stock/never-stocked-sku').set(auth));
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toBe('SKU never-stocked-sku is not stocked');
    const bad = await send(request(app).get('/stock/bad%20sku').set(auth));
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ field: 'path.sku' });
    expect((await send(request(app).get('/stock/pen-7'))).status).toBe(401);
  });

  test('without waiting, POST /sagas answers 202 with a Location', async () => {
    const res = await send(request(app).post('/sagas').set(auth).send(sampleOrder()));
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('RUNNING');
    expect(res.headers.location).toBe(`/sagas/${res.body.sagaId}`);
    await stack.client.workflow.getHandle(res.body.sagaId).result();
  });

  test('invalid requests get a problem naming the field and rule, and start nothing', async () => {
    const before = await countSagas();
    const bad = { ...sampleOrder(), items: [{ sku: 'x', quantity: -1, unitPrice: 10 }] };
    const res = await send(request(app).post('/sagas').set(auth).send(bad));
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'body.items.0.quantity', rule: 'too_small' }),
      ]),
    );

    const unknownField = await send(
      request(app)
        .post('/sagas')
        .set(auth)
        .send({ ...sampleOrder(), admin: true }),
    );
    expect(unknownField.status).toBe(422);
    expect(unknownField.body.errors[0].rule).toBe('unrecognized_keys');

    const malformed = await send(
      request(app).post('/sagas').set(auth).set('Content-Type', 'application/json').send('{"customerId":'),
    );
    expect(malformed.status).toBe(400);
    expect(malformed.body.type).toMatch(/malformed-json/);

    const wrongType = await send(
      request(app).post('/sagas').set(auth).set('Content-Type', 'text/plain').send('hello'),
    );
    expect(wrongType.status).toBe(415);

    const huge = await send(
      request(app)
        .post('/sagas')
        .set(auth)
        .send({ ...sampleOrder(), customerId: 'x'.repeat(40_000) }),
    );
    expect(huge.status).toBe(413);

    const badQuery = await send(request(app).post('/sagas?waitSeconds=999').set(auth).send(sampleOrder()));
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.errors[0].field).toBe('query.waitSeconds');

    const badKey = await send(
      request(app).post('/sagas').set(auth).set('Idempotency-Key', 'x').send(sampleOrder()),
    );
    expect(badKey.status).toBe(400);

    expect(await countSagas()).toBe(before);
  });

  test('mutating and read routes need a valid API key', async () => {
    const before = await countSagas();
    const missing = await send(request(app).post('/sagas').send(sampleOrder()));
    expect(missing.status).toBe(401);
    expect(missing.body.detail).toMatch(/API key/);
    const wrong = await send(
      request(app).post('/sagas').set('Authorization', 'Bearer wrong-key-0123456789').send(sampleOrder()),
    );
    expect(wrong.status).toBe(401);
    const read = await send(request(app).get(`/sagas/order-${randomUUID()}`));
    expect(read.status).toBe(401);
    expect(await countSagas()).toBe(before);

    const openReads = createTestApp(stack, { readOpen: true });
    expect((await request(openReads).get(`/sagas/order-${randomUUID()}`)).status).toBe(404);
    expect((await request(openReads).post('/sagas').send(sampleOrder())).status).toBe(401);
  });

  test('the rate limit answers 429 with Retry-After', async () => {
    const limited = createTestApp(stack, { rateLimitPerMinute: 2 });
    const id = `order-${randomUUID()}`;
    expect((await request(limited).get(`/sagas/${id}`).set(auth)).status).toBe(404);
    expect((await request(limited).get(`/sagas/${id}`).set(auth)).status).toBe(404);
    const third = await send(request(limited).get(`/sagas/${id}`).set(auth));
    expect(third.status).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
  });

  test('the same Idempotency-Key returns the same saga; a different body with it is refused', async () => {
    const key = `idem-${randomUUID()}`;
    const first = await send(
      request(app).post('/sagas').set(auth).set('Idempotency-Key', key).send(sampleOrder()),
    );
    const again = await send(
      request(app).post('/sagas').set(auth).set('Idempotency-Key', key).send(sampleOrder()),
    );
    expect(first.status).toBe(202);
    expect(again.body.sagaId).toBe(first.body.sagaId);
    expect(again.body.orderId).toBe(first.body.orderId);
    const other = await send(
      request(app)
        .post('/sagas')
        .set(auth)
        .set('Idempotency-Key', key)
        .send(sampleOrder({ customerId: 'someone-else' })),
    );
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused/);
  });

  test('20 concurrent identical starts with one Idempotency-Key produce one saga', async () => {
    const key = `race-${randomUUID()}`;
    const customerId = `race-${randomUUID().slice(0, 8)}`;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        send(
          request(app).post('/sagas').set(auth).set('Idempotency-Key', key).send(sampleOrder({ customerId })),
        ),
      ),
    );
    expect(responses.every((r) => r.status === 202 || r.status === 200)).toBe(true);
    expect(new Set(responses.map((r) => r.body.sagaId)).size).toBe(1);
    const { count } = await stack.client.workflow.count(`CustomerId = '${customerId}'`);
    expect(count).toBeLessThanOrEqual(1);
    await stack.client.workflow.getHandle(responses[0]!.body.sagaId).result();
    expect(await dbs.orders.order.count({ where: { customerId } })).toBe(1);
  });

  test('unknown saga: 404 problem; malformed id: 400', async () => {
    const res = await send(request(app).get(`/sagas/order-${randomUUID()}`).set(auth));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ status: 404, title: 'Not Found' });
    const malformed = await send(request(app).get('/sagas/not-a-saga').set(auth));
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].field).toBe('path.sagaId');
  });

  const waitFor = async (sagaId: string, predicate: (body: SagaBody) => boolean) => {
    let last: request.Response | undefined;
    for (let i = 0; i < 600; i++) {
      last = await send(request(app).get(`/sagas/${sagaId}`).set(auth));
      if (predicate(last.body as SagaBody)) return last.body as SagaBody;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`saga ${sagaId} never reached the state; last: ${JSON.stringify(last?.body)}`);
  };

  const authorizeStep = (body: { steps?: { name: string }[] }) =>
    body.steps?.find((step) => step.name === 'authorizePayment') as SagaView['steps'][number] | undefined;

  test('a retrying step shows its attempts, last error and next retry; cancel in its backoff compensates', async () => {
    // The provider fails this payment for its first 99 calls: Temporal keeps retrying (deadline 10 min).
    const started = await send(
      request(app)
        .post('/sagas')
        .set(auth)
        .send(sampleOrder({ paymentToken: 'tok_processingError_99' })),
    );
    const { sagaId } = started.body;
    const retrying = await waitFor(sagaId, (body) => (authorizeStep(body)?.attempts ?? 0) >= 3);
    expect(retrying.status).toBe('RUNNING');
    expect(authorizeStep(retrying)).toMatchObject({
      name: 'authorizePayment',
      status: 'RUNNING',
      lastError: expect.stringMatching(/ProviderUnavailable/),
      deadlineAt: expect.any(String),
    });
    const deadlineIn = Date.parse(authorizeStep(retrying)?.deadlineAt ?? '') - Date.now();
    expect(deadlineIn).toBeGreaterThan(5 * 60_000);
    await waitFor(sagaId, (body) => authorizeStep(body)?.nextRetryAt !== undefined);

    const cancel = await send(request(app).post(`/sagas/${sagaId}/cancel`).set(auth));
    expect(cancel.status).toBe(202);
    expect(cancel.body).toEqual({ sagaId, status: 'COMPENSATING' });
    const twice = await send(request(app).post(`/sagas/${sagaId}/cancel`).set(auth));
    expect(twice.status).toBe(409);
    expect(twice.body.detail).toMatch(/COMPENSATING|ended \(COMPENSATED\)/);
    await stack.client.workflow.getHandle(sagaId).result();
    const after = await send(request(app).get(`/sagas/${sagaId}`).set(auth));
    expect(after.body).toMatchObject({
      status: 'COMPENSATED',
      failure: { cancelled: true },
      cancelRequestedAt: expect.any(String),
    });
    const rows = await dbs.rowsOf(sagaId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment).toMatchObject({ status: 'VOIDED', voidedBeforeAuthorize: true });

    const ended = await send(request(app).post(`/sagas/${sagaId}/cancel`).set(auth));
    expect(ended.status).toBe(409);
    expect(ended.body.detail).toMatch(/ended \(COMPENSATED\)/);
    const resume = await send(request(app).post(`/sagas/${sagaId}/resume`).set(auth));
    expect(resume.status).toBe(409);
    expect(resume.body.detail).toMatch(/COMPENSATION_FAILED/);
  });

  test('cancel of a completed saga is 409 and changes nothing; of an unknown saga 404', async () => {
    const done = await send(request(app).post('/sagas?waitSeconds=30').set(auth).send(sampleOrder()));
    expect(done.body.status).toBe('COMPLETED');
    const cancel = await send(request(app).post(`/sagas/${done.body.sagaId}/cancel`).set(auth));
    expect(cancel.status).toBe(409);
    expect(cancel.body.detail).toMatch(/ended \(COMPLETED\)/);
    const rows = await dbs.rowsOf(done.body.sagaId);
    expect(rows.order?.status).toBe('APPROVED');
    expect(rows.payment?.status).toBe('CAPTURED');
    expect((await send(request(app).post(`/sagas/order-${randomUUID()}/cancel`).set(auth))).status).toBe(404);
  });

  /** Shipment is refused and the provider refuses to release this saga's payment until the fault is cleared. */
  async function startSagaWithStuckRelease(client: Express) {
    const key = `park-${randomUUID()}`;
    const sagaId = idempotentSagaId(keyIdOf(TEST_API_KEY), key);
    await dbs.payments.providerFault.create({
      data: { id: `f-${sagaId}`, sagaId, operation: 'release', message: 'outage' },
    });
    const order = sampleOrder();
    const started = await send(
      request(client)
        .post('/sagas')
        .set(auth)
        .set('Idempotency-Key', key)
        .send({ ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } }),
    );
    expect(started.body.sagaId).toBe(sagaId);
    return sagaId;
  }

  test('a compensation is patient: it retries through an outage, and cancel meanwhile is 409', async () => {
    const sagaId = await startSagaWithStuckRelease(app);
    const retrying = await waitFor(
      sagaId,
      (body) => (body.compensations?.find((c) => c.activity === 'releasePayment')?.attempts ?? 0) >= 3,
    );
    expect(retrying.status).toBe('COMPENSATING');
    expect(retrying.compensations?.find((c) => c.activity === 'releasePayment')).toMatchObject({
      status: 'RUNNING',
      lastError: expect.stringMatching(/outage/),
    });
    const cancel = await send(request(app).post(`/sagas/${sagaId}/cancel`).set(auth));
    expect(cancel.status).toBe(409);
    expect(cancel.body.detail).toMatch(/already COMPENSATING/);
    // The order is not cancelled before the payment is released: compensations run in reverse.
    expect((await dbs.rowsOf(sagaId)).order?.status).toBe('PENDING');
    await dbs.payments.providerFault.deleteMany({ where: { sagaId } });
    await stack.client.workflow.getHandle(sagaId).result();
    const rows = await dbs.rowsOf(sagaId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment?.status).toBe('VOIDED');
  });

  test('an operator resumes a parked saga through the API; cancel of a parked saga is 409', async () => {
    // Parking is what this test is about, so this API starts sagas with a short compensation deadline.
    const parking = createTestApp(stack, {
      settings: {
        ...stack.settings,
        compensationPolicy: { ...stack.settings.compensationPolicy, deadline: '3s' },
      },
    });
    const sagaId = await startSagaWithStuckRelease(parking);
    const parked = await waitFor(sagaId, (body) => body.status === 'COMPENSATION_FAILED');
    // The last attempt's error, or the deadline if it passed during a backoff.
    expect(parked.parkedReason).toMatch(/releasePayment.*(outage|deadline passed)/);
    const cancel = await send(request(app).post(`/sagas/${sagaId}/cancel`).set(auth));
    expect(cancel.status).toBe(409);
    expect(cancel.body.detail).toMatch(/parked/);
    const noNote = await send(request(app).post(`/sagas/${sagaId}/resolve`).set(auth).send({}));
    expect(noNote.status).toBe(422);
    await dbs.payments.providerFault.deleteMany({ where: { sagaId } });
    const resumed = await send(request(app).post(`/sagas/${sagaId}/resume`).set(auth));
    expect(resumed.status).toBe(202);
    await stack.client.workflow.getHandle(sagaId).result();
    expect((await send(request(app).get(`/sagas/${sagaId}`).set(auth))).body.status).toBe('COMPENSATED');
  });

  test('a forged or stale list cursor is 400 naming the field', async () => {
    const forged = await send(request(app).get('/sagas?cursor=bm90LWEtcGFnZS10b2tlbg').set(auth));
    expect(forged.status).toBe(400);
    expect(forged.body.errors[0].field).toBe('query.cursor');
  });

  test('Temporal unreachable is 503 with Retry-After, never a 4xx or a 500', async () => {
    const port = await freePort();
    const connection = Connection.lazy({ address: `127.0.0.1:${port}`, connectTimeout: '1s' });
    const down = createTestApp(stack, { client: new Client({ connection }) });
    try {
      for (const pending of [
        request(down).get(`/sagas/order-${randomUUID()}`).set(auth),
        request(down).post('/sagas').set(auth).send(sampleOrder()),
      ]) {
        const res = await send(pending);
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toEqual(expect.stringMatching(/^\d+$/));
        expect(res.body.type).toMatch(/temporal-unavailable/);
      }
    } finally {
      await connection.close().catch(() => undefined);
    }
  }, 120_000);

  test('list sagas with filters and cursor pagination through Temporal visibility', async () => {
    const customerId = `cust-${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = await send(
        request(app).post('/sagas?waitSeconds=30').set(auth).send(sampleOrder({ customerId })),
      );
      expect(started.status).toBe(200);
      ids.push(started.body.sagaId);
    }
    let page1: request.Response | undefined;
    for (let i = 0; i < 50; i++) {
      page1 = await send(
        request(app).get(`/sagas?customerId=${customerId}&status=COMPLETED&pageSize=2`).set(auth),
      );
      if (page1.body.sagas?.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(page1?.body.sagas).toHaveLength(2);
    expect(page1?.body.nextCursor).toEqual(expect.any(String));
    const page2 = await send(
      request(app)
        .get(`/sagas?customerId=${customerId}&status=COMPLETED&pageSize=2&cursor=${page1?.body.nextCursor}`)
        .set(auth),
    );
    const listed = [...(page1?.body.sagas ?? []), ...page2.body.sagas].map(
      (s: { sagaId: string }) => s.sagaId,
    );
    expect(listed.sort()).toEqual([...ids].sort());

    const none = await send(request(app).get(`/sagas?customerId=${customerId}&status=COMPENSATED`).set(auth));
    expect(none.body.sagas).toEqual([]);
    const badFilter = await send(request(app).get(`/sagas?status=DONE`).set(auth));
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.errors[0].field).toBe('query.status');
  });

  test('health: liveness, and readiness that reaches Temporal', async () => {
    expect((await send(request(app).get('/health/live'))).status).toBe(200);
    expect((await send(request(app).get('/health/ready'))).body).toMatchObject({ status: 'ok' });
  });

  test('every response above conformed to the OpenAPI document', () => {
    expect(conformance.checked.length).toBeGreaterThan(30);
  });
});
