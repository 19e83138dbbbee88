import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { rawBody, untyped, type SagaClient, type Schemas } from '../../api/client';
import { buildOpenApiDocument } from '../../api/openapi';
import { keyIdOf } from '../../api/auth';
import { idempotentSagaId } from '../../api/saga-service';
import { FINAL_OUTCOME_MEMO } from '../../workflows/saga/messages';
import { freePort } from '../../scripts/lib/ports';
import { closeTestApps, conformanceChecked, serveTestApp, TEST_API_KEY, type TestApi } from '../support/api';
import { SAMPLE_TOTAL, sampleOrder } from '../support/orders';
import { requireEnv, TEST_ENV } from '../support/env';
import { openServiceDbs } from '../support/rows';
import { startStack, testDataConverter, type Stack } from '../support/stack';
import { BEFORE_STATE_CUSTOMER, preMemoResultOf } from '../fixtures/pre-memo-sagas';

type Saga = Schemas['Saga'];
type Problem = Schemas['Problem'];

/**
 * End to end through the REST API: the real app on a local port, called with the typed client, the real
 * Temporal server, the real service databases. Every response received here is checked against the
 * OpenAPI document (the test client's conformance middleware).
 */
describe('REST API', () => {
  let stack: Stack;
  let server: TestApi;
  /** As TEST_API_KEY, with every scope. */
  let api: SagaClient;
  /** Without a credential. */
  let anonymous: SagaClient;
  const dbs = openServiceDbs();

  beforeAll(async () => {
    stack = await startStack();
    server = await serveTestApp(stack);
    api = server.api;
    anonymous = server.as();
  });
  afterAll(async () => {
    await closeTestApps();
    await stack?.stop();
    await dbs.close();
  });

  async function countSagas(): Promise<number> {
    const { count } = await stack.client.workflow.count(`TaskQueue = '${stack.queues.orchestrator}'`);
    return count;
  }

  const getSaga = (sagaId: string, client = api) =>
    client.GET('/sagas/{sagaId}', { params: { path: { sagaId } } });
  const operate = (action: 'cancel' | 'resume', sagaId: string) =>
    api.POST(`/sagas/{sagaId}/${action}`, { params: { path: { sagaId } } });

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
    // The document and its docs page are not operations of the document: plain fetches.
    const served = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string };
    expect(served.openapi).toBe('3.1.0');
    const docs = await fetch(`${server.url}/docs/`);
    expect(docs.status).toBe(200);
    const page = await docs.text();
    expect(page).toContain('swagger-ui');
    expect(page).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/);
  });

  test('POST /sagas starts a saga that completes, with rows in every service database', async () => {
    const res = await api.POST('/sagas', { params: { query: { waitSeconds: 30 } }, body: sampleOrder() });
    expect(res.response.status).toBe(200);
    const started = res.data!;
    expect(res.response.headers.get('location')).toBe(`/sagas/${started.sagaId}`);
    expect(started).toMatchObject({
      status: 'COMPLETED',
      saga: { status: 'COMPLETED', temporalStatus: 'COMPLETED' },
    });
    expect(started.saga?.links.webUi).toContain(`/namespaces/default/workflows/${started.sagaId}`);

    const rows = await dbs.rowsOf(started.sagaId);
    expect(rows.order).toMatchObject({ id: started.orderId, status: 'APPROVED', totalAmount: SAMPLE_TOTAL });
    expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
    expect(rows.shipment).toMatchObject({ status: 'SCHEDULED' });
    expect(rows.reservation).toMatchObject({ status: 'RESERVED' });

    const got = await getSaga(started.sagaId);
    expect(got.response.status).toBe(200);
    expect(got.data?.steps).toHaveLength(6);
    expect(got.data?.result?.trackingNumber).toBe(`TRK-${started.orderId}`);
  });

  test('a finished saga is read from its outcome memo: full state with no orchestrator running', async () => {
    // Its own stack, so its orchestrator can be stopped; the API reads through the suite's client.
    const own = await startStack();
    let sagaId: string;
    let whileUp: Saga | undefined;
    try {
      const ownServer = await serveTestApp(own);
      const res = await ownServer.api.POST('/sagas', {
        params: { query: { waitSeconds: 30 } },
        body: sampleOrder(),
      });
      await ownServer.close();
      expect(res.data?.status).toBe('COMPLETED');
      sagaId = res.data!.sagaId;
      whileUp = (await getSaga(sagaId)).data;
    } finally {
      await own.stop();
    }
    // A query now would wait for an orchestrator that never comes; the memo holds the final state, so
    // describe alone answers (no history read either).
    const { memo } = await stack.client.workflow.getHandle(sagaId).describe();
    expect(memo?.[FINAL_OUTCOME_MEMO]).toMatchObject({ status: 'COMPLETED', state: { status: 'COMPLETED' } });
    const read = await getSaga(sagaId);
    expect(read.response.status).toBe(200);
    expect(read.data).toEqual(whileUp);
    expect(read.data?.steps).toHaveLength(6);
    expect(read.data?.steps.every((step) => step.status === 'SUCCEEDED')).toBe(true);
    expect(read.data).toMatchObject({ status: 'COMPLETED', sagaVersion: 2, endedAt: expect.any(String) });
  });

  /**
   * Sagas that finished before the outcome memo (patch 'outcome-memo') have no memo: GET reads the result
   * in their close event, and for results older still (no state) asks the saga, then falls back to
   * visibility. Stand-ins registered as `orderSaga` (test/fixtures/pre-memo-sagas.ts) end with such
   * histories; they run on a task queue of their own, whose worker is stopped before any GET, so no
   * orchestrator can answer for them.
   */
  describe('sagas that finished before the outcome memo', () => {
    let withState: Schemas['StartSagaResponse'];
    let beforeState: Schemas['StartSagaResponse'];

    beforeAll(async () => {
      const orchestratorQueue = `${stack.prefix}pre-memo-orchestrator`;
      const connection = await NativeConnection.connect({ address: requireEnv(TEST_ENV.temporalAddress) });
      try {
        const worker = await Worker.create({
          connection,
          taskQueue: orchestratorQueue,
          workflowsPath: require.resolve('../fixtures/pre-memo-sagas'),
          // The run's encrypting converter: the close event's result is encrypted as a real saga's is.
          dataConverter: testDataConverter(),
        });
        // Started by the real API (its search attributes, owner and memo), on the stand-ins' queue.
        const preMemoApi = await serveTestApp({
          ...stack,
          queues: { ...stack.queues, orchestrator: orchestratorQueue },
        });
        const ran = worker.run();
        try {
          const start = async (customerId: string) => {
            const res = await preMemoApi.api.POST('/sagas', { body: sampleOrder({ customerId }) });
            expect(res.response.status).toBe(202);
            await stack.client.workflow.getHandle(res.data!.sagaId).result();
            return res.data!;
          };
          withState = await start(`cust-${randomUUID().slice(0, 8)}`);
          beforeState = await start(BEFORE_STATE_CUSTOMER);
        } finally {
          worker.shutdown();
          await ran;
          await preMemoApi.close();
        }
      } finally {
        await connection.close();
      }
    });

    test('GET reads the final state and result from the close event, with no memo and no orchestrator', async () => {
      const { memo } = await stack.client.workflow.getHandle(withState.sagaId).describe();
      expect(memo?.[FINAL_OUTCOME_MEMO]).toBeUndefined();
      const read = await getSaga(withState.sagaId);
      expect(read.response.status).toBe(200);
      // Version 1's five steps and the stand-in's result: only the close event holds them.
      expect(read.data).toMatchObject({
        sagaId: withState.sagaId,
        orderId: withState.orderId,
        startedBy: keyIdOf(TEST_API_KEY),
        status: 'COMPLETED',
        temporalStatus: 'COMPLETED',
        sagaVersion: 1,
        result: preMemoResultOf(withState.orderId),
      });
      expect(read.data?.steps.map((step) => [step.name, step.status])).toEqual([
        ['createOrder', 'SUCCEEDED'],
        ['authorizePayment', 'SUCCEEDED'],
        ['scheduleShipment', 'SUCCEEDED'],
        ['capturePayment', 'SUCCEEDED'],
        ['approveOrder', 'SUCCEEDED'],
      ]);
    });

    test('GET of a result with no state, no orchestrator answering: 200 with what visibility knows and the result', async () => {
      const { memo } = await stack.client.workflow.getHandle(beforeState.sagaId).describe();
      expect(memo?.[FINAL_OUTCOME_MEMO]).toBeUndefined();
      // The state query waits for a poller on the stand-ins' queue until Temporal's deadline for the call
      // (about 30 s measured), then fails: the API answers without it.
      const read = await getSaga(beforeState.sagaId);
      expect(read.response.status).toBe(200);
      // The query finds no orchestrator: status and dates come from visibility, steps are unknown; the
      // result is still the close event's.
      expect(read.data).toMatchObject({
        sagaId: beforeState.sagaId,
        orderId: beforeState.orderId,
        customerId: BEFORE_STATE_CUSTOMER,
        status: 'COMPENSATED',
        temporalStatus: 'COMPLETED',
        endedAt: expect.any(String),
        steps: [],
        compensations: [],
        result: preMemoResultOf(beforeState.orderId),
      });
    });
  });

  test('GET /stock/{sku} reads the inventory: levels of a stocked SKU, 404 for another, 400 for a bad one', async () => {
    const completed = await api.POST('/sagas', {
      params: { query: { waitSeconds: 30 } },
      body: sampleOrder(),
    });
    expect(completed.data?.status).toBe('COMPLETED');
    const stock = (sku: string, client = api) => client.GET('/stock/{sku}', { params: { path: { sku } } });
    const stocked = await stock('pen-7');
    expect(stocked.response.status).toBe(200);
    // Other tests order pen-7 at the same time: the row read here is the one checked, not a fixed number.
    const row = await dbs.inventory.stock.findUniqueOrThrow({ where: { sku: 'pen-7' } });
    expect(stocked.data).toMatchObject({ sku: 'pen-7', onHand: row.onHand });
    expect(stocked.data?.available).toBeLessThan(row.onHand);
    expect(stocked.data?.available).toBeGreaterThanOrEqual(row.available);

    const unknown = await stock('never-stocked-sku');
    expect(unknown.response.status).toBe(404);
    expect(unknown.error?.detail).toBe('SKU never-stocked-sku is not stocked');
    const bad = await stock('bad sku');
    expect(new URL(bad.response.url).pathname).toBe('/stock/bad%20sku');
    expect(bad.response.status).toBe(400);
    expect(bad.error?.errors?.[0]).toMatchObject({ field: 'path.sku' });
    expect((await stock('pen-7', anonymous)).response.status).toBe(401);
  });

  test('without waiting, POST /sagas answers 202 with a Location', async () => {
    const res = await api.POST('/sagas', { body: sampleOrder() });
    expect(res.response.status).toBe(202);
    expect(res.data?.status).toBe('RUNNING');
    expect(res.response.headers.get('location')).toBe(`/sagas/${res.data?.sagaId}`);
    await stack.client.workflow.getHandle(res.data!.sagaId).result();
  });

  test('invalid requests get a problem naming the field and rule, and start nothing', async () => {
    const before = await countSagas();
    const bad = { ...sampleOrder(), items: [{ sku: 'x', quantity: -1, unitPrice: 10 }] };
    const res = await api.POST('/sagas', { body: bad });
    expect(res.response.status).toBe(422);
    expect(res.response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.error?.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'body.items.0.quantity', rule: 'too_small' }),
      ]),
    );

    // What the document forbids goes through the same client without its types.
    const raw = untyped(api);
    const unknownField = await raw.POST('/sagas', { body: { ...sampleOrder(), admin: true } });
    expect(unknownField.response.status).toBe(422);
    // The conformance middleware has checked it is a Problem.
    expect((unknownField.error as Problem).errors?.[0]?.rule).toBe('unrecognized_keys');

    const malformed = await raw.POST('/sagas', rawBody('{"customerId":'));
    expect(malformed.response.status).toBe(400);
    expect(malformed.error).toMatchObject({ type: expect.stringMatching(/malformed-json/) });

    const wrongType = await raw.POST('/sagas', rawBody('hello', 'text/plain'));
    expect(wrongType.response.status).toBe(415);

    const huge = await api.POST('/sagas', { body: { ...sampleOrder(), customerId: 'x'.repeat(40_000) } });
    expect(huge.response.status).toBe(413);

    const badQuery = await api.POST('/sagas', {
      params: { query: { waitSeconds: 999 } },
      body: sampleOrder(),
    });
    expect(badQuery.response.status).toBe(400);
    expect(badQuery.error?.errors?.[0]?.field).toBe('query.waitSeconds');

    const badKey = await api.POST('/sagas', {
      params: { header: { 'idempotency-key': 'x' } },
      body: sampleOrder(),
    });
    expect(badKey.response.status).toBe(400);

    expect(await countSagas()).toBe(before);
  });

  test('mutating and read routes need a valid API key', async () => {
    const before = await countSagas();
    const missing = await anonymous.POST('/sagas', { body: sampleOrder() });
    expect(missing.response.status).toBe(401);
    expect(missing.error?.detail).toMatch(/API key/);
    const wrong = await server.as('wrong-key-0123456789').POST('/sagas', { body: sampleOrder() });
    expect(wrong.response.status).toBe(401);
    const read = await getSaga(`order-${randomUUID()}`, anonymous);
    expect(read.response.status).toBe(401);
    expect(await countSagas()).toBe(before);

    const openReads = (await serveTestApp(stack, { readOpen: true })).as();
    expect((await getSaga(`order-${randomUUID()}`, openReads)).response.status).toBe(404);
    expect((await openReads.POST('/sagas', { body: sampleOrder() })).response.status).toBe(401);
  });

  test('the rate limit answers 429 with Retry-After', async () => {
    const limited = (await serveTestApp(stack, { rateLimitPerMinute: 2 })).api;
    const id = `order-${randomUUID()}`;
    expect((await getSaga(id, limited)).response.status).toBe(404);
    expect((await getSaga(id, limited)).response.status).toBe(404);
    const third = await getSaga(id, limited);
    expect(third.response.status).toBe(429);
    expect(Number(third.response.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('the same Idempotency-Key returns the same saga; a different body with it is refused', async () => {
    const key = `idem-${randomUUID()}`;
    const start = (body = sampleOrder()) =>
      api.POST('/sagas', { params: { header: { 'idempotency-key': key } }, body });
    const first = await start();
    const again = await start();
    expect(first.response.status).toBe(202);
    expect(again.data?.sagaId).toBe(first.data?.sagaId);
    expect(again.data?.orderId).toBe(first.data?.orderId);
    const other = await start(sampleOrder({ customerId: 'someone-else' }));
    expect(other.response.status).toBe(422);
    expect(other.error?.type).toMatch(/idempotency-key-reused/);
  });

  test('20 concurrent identical starts with one Idempotency-Key produce one saga', async () => {
    const key = `race-${randomUUID()}`;
    const customerId = `race-${randomUUID().slice(0, 8)}`;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        api.POST('/sagas', {
          params: { header: { 'idempotency-key': key } },
          body: sampleOrder({ customerId }),
        }),
      ),
    );
    expect(responses.every((r) => r.response.status === 202 || r.response.status === 200)).toBe(true);
    expect(new Set(responses.map((r) => r.data?.sagaId)).size).toBe(1);
    const { count } = await stack.client.workflow.count(`CustomerId = '${customerId}'`);
    expect(count).toBeLessThanOrEqual(1);
    await stack.client.workflow.getHandle(responses[0]!.data!.sagaId).result();
    expect(await dbs.orders.order.count({ where: { customerId } })).toBe(1);
  });

  test('unknown saga: 404 problem; malformed id: 400', async () => {
    const res = await getSaga(`order-${randomUUID()}`);
    expect(res.response.status).toBe(404);
    expect(res.error).toMatchObject({ status: 404, title: 'Not Found' });
    const malformed = await getSaga('not-a-saga');
    expect(malformed.response.status).toBe(400);
    expect(malformed.error?.errors?.[0]?.field).toBe('path.sagaId');
  });

  const waitFor = async (sagaId: string, predicate: (saga: Saga) => boolean): Promise<Saga> => {
    let last: Saga | undefined;
    for (let i = 0; i < 600; i++) {
      last = (await getSaga(sagaId)).data;
      if (last && predicate(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`saga ${sagaId} never reached the state; last: ${JSON.stringify(last)}`);
  };

  const authorizeStep = (saga: Saga) => saga.steps.find((step) => step.name === 'authorizePayment');

  test('a retrying step shows its attempts, last error and next retry; cancel in its backoff compensates', async () => {
    // The provider fails this payment for its first 99 calls: Temporal keeps retrying (deadline 10 min).
    const started = await api.POST('/sagas', {
      body: sampleOrder({ paymentToken: 'tok_processingError_99' }),
    });
    const sagaId = started.data!.sagaId;
    const retrying = await waitFor(sagaId, (saga) => (authorizeStep(saga)?.attempts ?? 0) >= 3);
    expect(retrying.status).toBe('RUNNING');
    expect(authorizeStep(retrying)).toMatchObject({
      name: 'authorizePayment',
      status: 'RUNNING',
      lastError: expect.stringMatching(/ProviderUnavailable/),
      deadlineAt: expect.any(String),
    });
    const deadlineIn = Date.parse(authorizeStep(retrying)?.deadlineAt ?? '') - Date.now();
    expect(deadlineIn).toBeGreaterThan(5 * 60_000);
    await waitFor(sagaId, (saga) => authorizeStep(saga)?.nextRetryAt !== undefined);

    const cancel = await operate('cancel', sagaId);
    expect(cancel.response.status).toBe(202);
    expect(cancel.data).toEqual({ sagaId, status: 'COMPENSATING' });
    const twice = await operate('cancel', sagaId);
    expect(twice.response.status).toBe(409);
    expect(twice.error?.detail).toMatch(/COMPENSATING|ended \(COMPENSATED\)/);
    await stack.client.workflow.getHandle(sagaId).result();
    const after = await getSaga(sagaId);
    expect(after.data).toMatchObject({
      status: 'COMPENSATED',
      failure: { cancelled: true },
      cancelRequestedAt: expect.any(String),
    });
    const rows = await dbs.rowsOf(sagaId);
    expect(rows.order?.status).toBe('CANCELLED');
    expect(rows.payment).toMatchObject({ status: 'VOIDED', voidedBeforeAuthorize: true });

    const ended = await operate('cancel', sagaId);
    expect(ended.response.status).toBe(409);
    expect(ended.error?.detail).toMatch(/ended \(COMPENSATED\)/);
    const resume = await operate('resume', sagaId);
    expect(resume.response.status).toBe(409);
    expect(resume.error?.detail).toMatch(/COMPENSATION_FAILED/);
  });

  test('cancel of a completed saga is 409 and changes nothing; of an unknown saga 404', async () => {
    const done = await api.POST('/sagas', { params: { query: { waitSeconds: 30 } }, body: sampleOrder() });
    expect(done.data?.status).toBe('COMPLETED');
    const cancel = await operate('cancel', done.data!.sagaId);
    expect(cancel.response.status).toBe(409);
    expect(cancel.error?.detail).toMatch(/ended \(COMPLETED\)/);
    const rows = await dbs.rowsOf(done.data!.sagaId);
    expect(rows.order?.status).toBe('APPROVED');
    expect(rows.payment?.status).toBe('CAPTURED');
    expect((await operate('cancel', `order-${randomUUID()}`)).response.status).toBe(404);
  });

  /** Shipment is refused and the provider refuses to release this saga's payment until the fault is cleared. */
  async function startSagaWithStuckRelease(client: SagaClient) {
    const key = `park-${randomUUID()}`;
    const sagaId = idempotentSagaId(keyIdOf(TEST_API_KEY), key);
    await dbs.payments.providerFault.create({
      data: { id: `f-${sagaId}`, sagaId, operation: 'release', message: 'outage' },
    });
    const order = sampleOrder();
    const started = await client.POST('/sagas', {
      params: { header: { 'idempotency-key': key } },
      body: { ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } },
    });
    expect(started.data?.sagaId).toBe(sagaId);
    return sagaId;
  }

  test('a compensation is patient: it retries through an outage, and cancel meanwhile is 409', async () => {
    const sagaId = await startSagaWithStuckRelease(api);
    const retrying = await waitFor(
      sagaId,
      (saga) => (saga.compensations.find((c) => c.activity === 'releasePayment')?.attempts ?? 0) >= 3,
    );
    expect(retrying.status).toBe('COMPENSATING');
    expect(retrying.compensations.find((c) => c.activity === 'releasePayment')).toMatchObject({
      status: 'RUNNING',
      lastError: expect.stringMatching(/outage/),
    });
    const cancel = await operate('cancel', sagaId);
    expect(cancel.response.status).toBe(409);
    expect(cancel.error?.detail).toMatch(/already COMPENSATING/);
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
    const parking = await serveTestApp(stack, {
      settings: {
        ...stack.settings,
        compensationPolicy: { ...stack.settings.compensationPolicy, deadline: '3s' },
      },
    });
    const sagaId = await startSagaWithStuckRelease(parking.api);
    const parked = await waitFor(sagaId, (saga) => saga.status === 'COMPENSATION_FAILED');
    // The last attempt's error, or the deadline if it passed during a backoff.
    expect(parked.parkedReason).toMatch(/releasePayment.*(outage|deadline passed)/);
    const cancel = await operate('cancel', sagaId);
    expect(cancel.response.status).toBe(409);
    expect(cancel.error?.detail).toMatch(/parked/);
    // A resolve needs a note: sent without one through the untyped client.
    const noNote = await untyped(api).POST(`/sagas/${sagaId}/resolve`, { body: {} });
    expect(noNote.response.status).toBe(422);
    await dbs.payments.providerFault.deleteMany({ where: { sagaId } });
    const resumed = await operate('resume', sagaId);
    expect(resumed.response.status).toBe(202);
    await stack.client.workflow.getHandle(sagaId).result();
    expect((await getSaga(sagaId)).data?.status).toBe('COMPENSATED');
  });

  test('a forged or stale list cursor is 400 naming the field', async () => {
    const forged = await api.GET('/sagas', { params: { query: { cursor: 'bm90LWEtcGFnZS10b2tlbg' } } });
    expect(forged.response.status).toBe(400);
    expect(forged.error?.errors?.[0]?.field).toBe('query.cursor');
  });

  test('Temporal unreachable is 503 with Retry-After, never a 4xx or a 500', async () => {
    const port = await freePort();
    const connection = Connection.lazy({ address: `127.0.0.1:${port}`, connectTimeout: '1s' });
    const down = (await serveTestApp(stack, { client: new Client({ connection }) })).api;
    try {
      for (const pending of [
        getSaga(`order-${randomUUID()}`, down),
        down.POST('/sagas', { body: sampleOrder() }),
      ]) {
        const res = await pending;
        expect(res.response.status).toBe(503);
        expect(res.response.headers.get('retry-after')).toEqual(expect.stringMatching(/^\d+$/));
        expect(res.error?.type).toMatch(/temporal-unavailable/);
      }
    } finally {
      await connection.close().catch(() => undefined);
    }
  }, 120_000);

  test('list sagas with filters and cursor pagination through Temporal visibility', async () => {
    const customerId = `cust-${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = await api.POST('/sagas', {
        params: { query: { waitSeconds: 30 } },
        body: sampleOrder({ customerId }),
      });
      expect(started.response.status).toBe(200);
      ids.push(started.data!.sagaId);
    }
    const list = (cursor?: string) =>
      api.GET('/sagas', { params: { query: { customerId, status: 'COMPLETED', pageSize: 2, cursor } } });
    let page1: Schemas['ListSagasResponse'] | undefined;
    for (let i = 0; i < 50; i++) {
      page1 = (await list()).data;
      if (page1?.sagas.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(page1?.sagas).toHaveLength(2);
    expect(page1?.nextCursor).toEqual(expect.any(String));
    const page2 = (await list(page1?.nextCursor)).data;
    const listed = [...(page1?.sagas ?? []), ...(page2?.sagas ?? [])].map((s) => s.sagaId);
    expect(listed.sort()).toEqual([...ids].sort());

    const none = await api.GET('/sagas', { params: { query: { customerId, status: 'COMPENSATED' } } });
    expect(none.data?.sagas).toEqual([]);
    const badFilter = await untyped(api).GET('/sagas', { params: { query: { status: 'DONE' } } });
    expect(badFilter.response.status).toBe(400);
    expect((badFilter.error as Problem).errors?.[0]?.field).toBe('query.status');
  });

  test('health: liveness, and readiness that reaches Temporal', async () => {
    expect((await anonymous.GET('/health/live')).response.status).toBe(200);
    expect((await anonymous.GET('/health/ready')).data).toMatchObject({ status: 'ok' });
  });

  test('every response above conformed to the OpenAPI document', () => {
    expect(conformanceChecked.length).toBeGreaterThan(30);
  });
});
