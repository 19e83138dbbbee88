import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import pino from 'pino';
import request from 'supertest';
import { keyIdOf } from '../../api/auth';
import { idempotentSagaId } from '../../api/saga-service';
import type { SagaView } from '../../api/schemas';
import { freePort } from '../../scripts/lib/ports';
import { startedByKey } from '../../shared/search-attributes';
import { auth, createTestApp, TEST_API_KEY } from '../support/api';
import { startTestIssuer, type TestIssuer } from '../support/identity';
import { openApiConformance } from '../support/openapi-conformance';
import { sampleOrder, startSaga } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';

/**
 * Identities, scopes, ownership and audit through the real app on the real Temporal server: API keys
 * with scopes, and JWTs of a real (local) JWKS endpoint whose keys this test generates.
 */
const READER_KEY = 'reader-key-0123456789abcdef';
const CUSTOMER_KEY = 'customer-key-0123456789abcdef';
const USER_SCOPES = 'sagas:start sagas:read sagas:cancel';

describe('identities, scopes, ownership and audit', () => {
  let stack: Stack;
  let issuer: TestIssuer;
  let app: Express;
  const logLines: Record<string, unknown>[] = [];
  const dbs = openServiceDbs();
  const conformance = openApiConformance();
  const { send } = conformance;
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  let alice: Record<string, string>;
  let bob: Record<string, string>;

  beforeAll(async () => {
    [stack, issuer] = await Promise.all([startStack(), startTestIssuer()]);
    app = createTestApp(stack, {
      apiKeys: [
        TEST_API_KEY,
        { key: READER_KEY, scopes: ['sagas:read'] },
        { key: CUSTOMER_KEY, scopes: ['sagas:start', 'sagas:read', 'sagas:cancel'] },
      ],
      jwt: issuer.config,
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) }),
    });
    alice = bearer(await issuer.token('alice', USER_SCOPES));
    bob = bearer(await issuer.token('bob', USER_SCOPES, { alg: 'ES256' }));
  });
  afterAll(async () => {
    await stack?.stop();
    await issuer?.close();
    await dbs.close();
  });

  const countSagas = async () =>
    // Sagas only: a stock read runs a short workflow of its own.
    (
      await stack.client.workflow.count(
        `TaskQueue = '${stack.queues.orchestrator}' AND WorkflowType IN ('orderSaga', 'refundSaga')`,
      )
    ).count;

  const waitFor = async (
    sagaId: string,
    headers: Record<string, string>,
    predicate: (body: SagaView) => boolean,
  ) => {
    let last: request.Response | undefined;
    for (let i = 0; i < 600; i++) {
      last = await send(request(app).get(`/sagas/${sagaId}`).set(headers));
      if (last.status === 200 && predicate(last.body as SagaView)) return last.body as SagaView;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`saga ${sagaId} never reached the state; last: ${JSON.stringify(last?.body)}`);
  };

  test('a token of the issuer (RS256 or ES256) starts and reads sagas recorded as its subject', async () => {
    const started = await send(request(app).post('/sagas?waitSeconds=30').set(alice).send(sampleOrder()));
    expect(started.status).toBe(200);
    expect(started.body.saga).toMatchObject({ status: 'COMPLETED', startedBy: 'jwt:alice' });
    const ec = await send(request(app).post('/sagas').set(bob).send(sampleOrder()));
    expect(ec.status).toBe(202);
    const read = await send(request(app).get(`/sagas/${ec.body.sagaId}`).set(bob));
    expect(read.body.startedBy).toBe('jwt:bob');
    const handle = stack.client.workflow.getHandle(ec.body.sagaId);
    expect((await handle.describe()).typedSearchAttributes.get(startedByKey)).toBe('jwt:bob');
    await handle.result();
    // The key set was fetched once and is cached.
    expect(issuer.fetches()).toBe(1);
  });

  test('refused tokens are 401 problem+json, say why without quoting the token, and start nothing', async () => {
    const before = await countSagas();
    const valid = await issuer.token('mallory', USER_SCOPES);
    const [header, payload] = valid.split('.') as [string, string, string];
    const widened = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        scope: 'sagas:operate',
      }),
    ).toString('base64url');
    const signature = valid.split('.')[2] as string;
    const cases: [string, string, RegExp][] = [
      ['expired', await issuer.token('mallory', USER_SCOPES, { exp: -300 }), /expired/],
      ['not yet valid', await issuer.token('mallory', USER_SCOPES, { nbf: 300 }), /not valid yet/],
      [
        'wrong audience',
        await issuer.token('mallory', USER_SCOPES, { claims: { aud: 'another-api' } }),
        /not for this API/,
      ],
      [
        'wrong issuer',
        await issuer.token('mallory', USER_SCOPES, { claims: { iss: 'https://evil.example/' } }),
        /issuer/,
      ],
      ['unknown key id', await issuer.token('mallory', USER_SCOPES, { unpublished: true }), /key/],
      [
        'published key id, unpublished key',
        await issuer.token('mallory', USER_SCOPES, { unpublished: true, kid: 'rsa-1' }),
        /signature/,
      ],
      ['alg none', issuer.unsigned('mallory', 'sagas:start sagas:operate'), /algorithm/],
      ['tampered payload', `${header}.${widened}.${signature}`, /signature/],
      ['truncated', valid.slice(0, -10), /signature|not valid/],
      ['not a token', 'definitely-not-a-key-or-token', /not valid/],
    ];
    for (const [name, token, reason] of cases) {
      const res = await send(request(app).post('/sagas').set(bearer(token)).send(sampleOrder()));
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect({ name, detail: res.body.detail }).toEqual({ name, detail: expect.stringMatching(reason) });
      expect(JSON.stringify(res.body)).not.toContain(token);
      const read = await send(request(app).get('/sagas').set(bearer(token)));
      expect(read.status).toBe(401);
    }
    // The unknown key id made the API look for new keys, at most once per cooldown.
    expect(issuer.fetches()).toBeLessThanOrEqual(2);
    expect(await countSagas()).toBe(before);
    expect(JSON.stringify(logLines)).not.toContain(valid);
  });

  test('a route needs its scope: 403 problem naming it, nothing started', async () => {
    const before = await countSagas();
    const reader = bearer(READER_KEY);
    const starterOnly = bearer(await issuer.token('carol', 'sagas:start openid profile'));
    const nothing = bearer(await issuer.token('dave', ''));
    const orderId = `ord_${randomUUID()}`;
    const sagaId = `order-${randomUUID()}`;
    for (const [headers, pending, scope] of [
      [reader, request(app).post('/sagas').send(sampleOrder()), 'sagas:start'],
      [reader, request(app).post(`/orders/${orderId}/refund`), 'sagas:start'],
      [nothing, request(app).post('/sagas').send(sampleOrder()), 'sagas:start'],
      [starterOnly, request(app).get('/stock/pen-7'), 'sagas:read'],
      [starterOnly, request(app).get('/sagas'), 'sagas:read'],
      [starterOnly, request(app).get(`/sagas/${sagaId}`), 'sagas:read'],
      [reader, request(app).post(`/sagas/${sagaId}/cancel`), 'sagas:cancel'],
      [alice, request(app).post(`/sagas/${sagaId}/resume`), 'sagas:operate'],
      [
        bearer(CUSTOMER_KEY),
        request(app).post(`/sagas/${sagaId}/resolve`).send({ note: 'x' }),
        'sagas:operate',
      ],
    ] as const) {
      const res = await send(pending.set(headers));
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.detail).toBe(`this request needs the scope ${scope}`);
      expect(res.headers['www-authenticate']).toContain(`scope="${scope}"`);
    }
    // Scopes in `scp` (a list, as some issuers send them) count too.
    const scp = bearer(await issuer.token('erin', '', { claims: { scp: ['sagas:read'] } }));
    expect((await send(request(app).get('/stock/pen-7').set(scp))).status).toBe(200);
    expect((await send(request(app).get('/stock/pen-7').set(reader))).status).toBe(200);
    expect(await countSagas()).toBe(before);
  });

  test('without sagas:operate a caller sees, lists, cancels and refunds only its own sagas', async () => {
    const customerId = `own-${randomUUID().slice(0, 8)}`;
    const running = await send(
      request(app)
        .post('/sagas')
        .set(alice)
        .send(sampleOrder({ customerId, paymentToken: 'tok_processingError_99' })),
    );
    const done = await send(
      request(app).post('/sagas?waitSeconds=30').set(alice).send(sampleOrder({ customerId })),
    );
    expect(done.body.status).toBe('COMPLETED');
    // Started before ownership existed: no StartedBy.
    const legacy = await startSaga(stack, sampleOrder({ customerId }));
    await legacy.result();
    const ids = [running.body.sagaId, done.body.sagaId];

    const unknown = await send(request(app).get(`/sagas/order-${randomUUID()}`).set(bob));
    for (const id of [...ids, legacy.workflowId]) {
      const seen = await send(request(app).get(`/sagas/${id}`).set(bob));
      expect(seen.status).toBe(404);
      // Indistinguishable from a saga that does not exist.
      expect(seen.body.type).toBe(unknown.body.type);
      expect(seen.body.detail).toBe(`no saga with id ${id}`);
    }
    expect((await send(request(app).get(`/sagas/${legacy.workflowId}`).set(alice))).status).toBe(404);
    expect((await send(request(app).get(`/sagas/${legacy.workflowId}`).set(auth))).status).toBe(200);
    expect((await send(request(app).post(`/sagas/${running.body.sagaId}/cancel`).set(bob))).status).toBe(404);
    const refund = await send(request(app).post(`/orders/${done.body.orderId}/refund`).set(bob));
    expect(refund.status).toBe(404);
    const refunds = await stack.client.workflow.count(`WorkflowId = 'refund-${done.body.orderId}'`);
    expect(refunds.count).toBe(0);

    const listOf = async (headers: Record<string, string>) => {
      const res = await send(request(app).get(`/sagas?customerId=${customerId}&pageSize=100`).set(headers));
      expect(res.status).toBe(200);
      return (res.body.sagas as { sagaId: string; startedBy?: string }[]).map((s) => s.sagaId).sort();
    };
    let operatorList: string[] = [];
    for (let i = 0; i < 50 && operatorList.length < 3; i++) {
      operatorList = await listOf(auth);
      if (operatorList.length < 3) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(operatorList).toEqual([...ids, legacy.workflowId].sort());
    expect(await listOf(alice)).toEqual([...ids].sort());
    expect(await listOf(bob)).toEqual([]);
    expect(await listOf(bearer(READER_KEY))).toEqual([]);

    // Alice refunds her own order; the refund saga is hers too.
    const own = await send(
      request(app).post(`/orders/${done.body.orderId}/refund?waitSeconds=30`).set(alice),
    );
    expect(own.status).toBe(200);
    expect(own.body.saga).toMatchObject({ status: 'COMPLETED', startedBy: 'jwt:alice' });
    expect((await send(request(app).get(`/sagas/${own.body.sagaId}`).set(bob))).status).toBe(404);

    // Her cancel is audited: who and when, in the saga's state and in one log line.
    const cancel = await send(request(app).post(`/sagas/${running.body.sagaId}/cancel`).set(alice));
    expect(cancel.status).toBe(202);
    await stack.client.workflow.getHandle(running.body.sagaId).result();
    const after = await send(request(app).get(`/sagas/${running.body.sagaId}`).set(alice));
    expect(after.body).toMatchObject({
      status: 'COMPENSATED',
      audit: [{ action: 'cancel', by: 'jwt:alice', at: expect.any(String) }],
    });
    expect(Date.parse(after.body.audit[0].at)).toBeGreaterThan(Date.now() - 120_000);
    const twice = await send(request(app).post(`/sagas/${running.body.sagaId}/cancel`).set(alice));
    expect(twice.status).toBe(409);
    const lines = logLines.filter((line) => line.sagaId === running.body.sagaId && line.audit === 'cancel');
    expect(lines).toEqual([
      // Bob's attempt above is audited too, as the 404 he got.
      expect.objectContaining({ by: 'jwt:bob', outcome: 'refused', httpStatus: 404 }),
      expect.objectContaining({ by: 'jwt:alice', outcome: 'accepted', msg: 'saga cancel accepted' }),
      expect.objectContaining({ by: 'jwt:alice', outcome: 'refused', httpStatus: 409 }),
    ]);
  });

  test('an operator resumes and resolves a parked saga: both audited, the resolution names its author', async () => {
    const parking = createTestApp(stack, {
      settings: {
        ...stack.settings,
        compensationPolicy: { ...stack.settings.compensationPolicy, deadline: '3s' },
      },
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) }),
    });
    const key = `audit-${randomUUID()}`;
    const operator = keyIdOf(TEST_API_KEY);
    const sagaId = idempotentSagaId(operator, key);
    await dbs.payments.providerFault.create({
      data: { id: `f-${sagaId}`, sagaId, operation: 'release', message: 'outage' },
    });
    const order = sampleOrder();
    await send(
      request(parking)
        .post('/sagas')
        .set(auth)
        .set('Idempotency-Key', key)
        .send({ ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } }),
    );
    await waitFor(sagaId, auth, (body) => body.status === 'COMPENSATION_FAILED');
    // The fault is still there: resumed, it parks again.
    expect((await send(request(parking).post(`/sagas/${sagaId}/resume`).set(auth))).status).toBe(202);
    await waitFor(sagaId, auth, (body) => body.status === 'COMPENSATION_FAILED' && body.audit?.length === 1);
    const resolved = await send(
      request(parking).post(`/sagas/${sagaId}/resolve`).set(auth).send({ note: 'voided by hand' }),
    );
    expect(resolved.status).toBe(200);
    await stack.client.workflow.getHandle(sagaId).result();
    const view = await send(request(app).get(`/sagas/${sagaId}`).set(auth));
    expect(view.body).toMatchObject({
      status: 'RESOLVED',
      startedBy: operator,
      resolution: { note: 'voided by hand', by: operator, at: expect.any(String) },
      audit: [
        { action: 'resume', by: operator, at: expect.any(String) },
        { action: 'resolve', by: operator, at: expect.any(String) },
      ],
    });
    expect(
      logLines
        .filter((line) => line.sagaId === sagaId && line.audit)
        .map((line) => [line.audit, line.by, line.outcome]),
    ).toEqual([
      ['resume', operator, 'accepted'],
      ['resolve', operator, 'accepted'],
    ]);
    await dbs.payments.providerFault.deleteMany({ where: { sagaId } });
  });

  test('failed authentication is rate limited per address, before the credential is checked', async () => {
    const limited = createTestApp(stack, { rateLimitPerMinute: 3, jwt: issuer.config });
    const before = await countSagas();
    for (let i = 0; i < 3; i++) {
      const res = await send(
        request(limited)
          .get('/sagas')
          .set(bearer(`wrong-key-${i}-0123456789abcdef`)),
      );
      expect(res.status).toBe(401);
    }
    const limitedRes = await send(request(limited).post('/sagas').set(bearer('wrong-key-x-0123456789')));
    expect(limitedRes.status).toBe(429);
    expect(Number(limitedRes.headers['retry-after'])).toBeGreaterThan(0);
    expect(limitedRes.body.detail).toMatch(/failed authentication/);
    // The address is held back for the rest of the window, whatever it presents.
    expect((await send(request(limited).post('/sagas').set(auth).send(sampleOrder()))).status).toBe(429);
    expect(await countSagas()).toBe(before);

    // Successful requests do not count against the failure budget.
    const fresh = createTestApp(stack, { rateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) {
      expect((await send(request(fresh).get('/stock/pen-7').set(auth))).status).toBe(200);
    }
    expect((await send(request(fresh).get('/sagas').set(bearer('wrong-key-y-0123456789')))).status).toBe(401);
  });

  test('behind a trusted proxy the limit counts per forwarded client; untrusted, X-Forwarded-For changes nothing', async () => {
    const wrong = (i: number) => bearer(`wrong-key-${i}-0123456789abcdef`);
    const from = (app: ReturnType<typeof createTestApp>, client: string, i: number) =>
      send(request(app).get('/sagas').set(wrong(i)).set('X-Forwarded-For', client));
    // supertest connects from the loopback, which is the proxy here.
    const proxied = createTestApp(stack, { rateLimitPerMinute: 2, trustProxy: ['loopback'] });
    for (let i = 0; i < 2; i++) expect((await from(proxied, '203.0.113.1', i)).status).toBe(401);
    expect((await from(proxied, '203.0.113.1', 2)).status).toBe(429);
    // Another client behind the same proxy keeps its own budget.
    expect((await from(proxied, '203.0.113.2', 3)).status).toBe(401);

    // Without a trusted proxy the header is the client's own claim: a new one each time escapes nothing.
    const direct = createTestApp(stack, { rateLimitPerMinute: 2 });
    for (let i = 0; i < 2; i++) expect((await from(direct, `198.51.100.${i}`, i)).status).toBe(401);
    expect((await from(direct, '198.51.100.9', 2)).status).toBe(429);
  });

  test('a static key set works without a JWKS endpoint; an unreachable JWKS endpoint is 503', async () => {
    const fetchesBefore = issuer.fetches();
    const staticKeys = createTestApp(stack, {
      jwt: { ...issuer.config, jwksUrl: undefined, jwks: issuer.publicKeys },
    });
    const token = await issuer.token('frank', 'sagas:read', { alg: 'ES256' });
    expect((await send(request(staticKeys).get('/stock/pen-7').set(bearer(token)))).status).toBe(200);
    expect(issuer.fetches()).toBe(fetchesBefore);

    const down = createTestApp(stack, {
      jwt: { ...issuer.config, jwksUrl: new URL(`http://127.0.0.1:${await freePort()}/jwks.json`) },
    });
    const before = await countSagas();
    const res = await send(request(down).post('/sagas').set(bearer(token)).send(sampleOrder()));
    expect(res.status).toBe(503);
    expect(res.body.type).toMatch(/identity-provider-unavailable/);
    // API keys still work while the issuer is unreachable.
    expect((await send(request(down).get('/stock/pen-7').set(auth))).status).toBe(200);
    expect(await countSagas()).toBe(before);
  });

  test('every response above conformed to the OpenAPI document', () => {
    expect(conformance.checked.length).toBeGreaterThan(40);
  });
});
