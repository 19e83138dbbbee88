import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { keyIdOf } from '../../api/auth';
import { untyped, type SagaClient, type Schemas } from '../../api/client';
import { idempotentSagaId } from '../../api/saga-service';
import { freePort } from '../../scripts/lib/ports';
import { startedByKey } from '../../shared/search-attributes';
import { closeTestApps, conformanceChecked, serveTestApp, TEST_API_KEY, type TestApi } from '../support/api';
import { startTestIssuer, type TestIssuer } from '../support/identity';
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
  let server: TestApi;
  /** TEST_API_KEY: every scope, an operator. */
  let operatorApi: SagaClient;
  const logLines: Record<string, unknown>[] = [];
  const dbs = openServiceDbs();
  let alice: SagaClient;
  let bob: SagaClient;

  beforeAll(async () => {
    [stack, issuer] = await Promise.all([startStack(), startTestIssuer()]);
    server = await serveTestApp(stack, {
      apiKeys: [
        TEST_API_KEY,
        { key: READER_KEY, scopes: ['sagas:read'] },
        { key: CUSTOMER_KEY, scopes: ['sagas:start', 'sagas:read', 'sagas:cancel'] },
      ],
      jwt: issuer.config,
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) }),
    });
    operatorApi = server.api;
    alice = server.as(await issuer.token('alice', USER_SCOPES));
    bob = server.as(await issuer.token('bob', USER_SCOPES, { alg: 'ES256' }));
  });
  afterAll(async () => {
    await closeTestApps();
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

  const getSaga = (client: SagaClient, sagaId: string) =>
    client.GET('/sagas/{sagaId}', { params: { path: { sagaId } } });
  const action = (client: SagaClient, name: 'cancel' | 'resume', sagaId: string) =>
    client.POST(`/sagas/{sagaId}/${name}`, { params: { path: { sagaId } } });
  const refund = (client: SagaClient, orderId: string, waitSeconds?: number) =>
    client.POST('/orders/{orderId}/refund', { params: { path: { orderId }, query: { waitSeconds } } });
  const stock = (client: SagaClient) => client.GET('/stock/{sku}', { params: { path: { sku: 'pen-7' } } });

  const waitFor = async (
    client: SagaClient,
    sagaId: string,
    predicate: (saga: Schemas['Saga']) => boolean,
  ) => {
    let last: Awaited<ReturnType<typeof getSaga>> | undefined;
    for (let i = 0; i < 600; i++) {
      last = await getSaga(client, sagaId);
      if (last.data && predicate(last.data)) return last.data;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `saga ${sagaId} never reached the state; last: ${JSON.stringify(last?.data ?? last?.error)}`,
    );
  };

  test('a token of the issuer (RS256 or ES256) starts and reads sagas recorded as its subject', async () => {
    const started = await alice.POST('/sagas', {
      params: { query: { waitSeconds: 30 } },
      body: sampleOrder(),
    });
    expect(started.response.status).toBe(200);
    expect(started.data?.saga).toMatchObject({ status: 'COMPLETED', startedBy: 'jwt:alice' });
    const ec = await bob.POST('/sagas', { body: sampleOrder() });
    expect(ec.response.status).toBe(202);
    const read = await getSaga(bob, ec.data!.sagaId);
    expect(read.data?.startedBy).toBe('jwt:bob');
    const handle = stack.client.workflow.getHandle(ec.data!.sagaId);
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
      const as = server.as(token);
      const res = await as.POST('/sagas', { body: sampleOrder() });
      expect({ name, status: res.response.status }).toEqual({ name, status: 401 });
      expect(res.response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect({ name, detail: res.error?.detail }).toEqual({ name, detail: expect.stringMatching(reason) });
      expect(JSON.stringify(res.error)).not.toContain(token);
      const read = await as.GET('/sagas');
      expect(read.response.status).toBe(401);
    }
    // The unknown key id made the API look for new keys, at most once per cooldown.
    expect(issuer.fetches()).toBeLessThanOrEqual(2);
    expect(await countSagas()).toBe(before);
    expect(JSON.stringify(logLines)).not.toContain(valid);
  });

  test('a route needs its scope: 403 problem naming it, nothing started', async () => {
    const before = await countSagas();
    const reader = server.as(READER_KEY);
    const starterOnly = server.as(await issuer.token('carol', 'sagas:start openid profile'));
    const nothing = server.as(await issuer.token('dave', ''));
    const orderId = `ord_${randomUUID()}`;
    const sagaId = `order-${randomUUID()}`;
    for (const [send, scope] of [
      [() => reader.POST('/sagas', { body: sampleOrder() }), 'sagas:start'],
      [() => refund(reader, orderId), 'sagas:start'],
      [() => nothing.POST('/sagas', { body: sampleOrder() }), 'sagas:start'],
      [() => stock(starterOnly), 'sagas:read'],
      [() => starterOnly.GET('/sagas'), 'sagas:read'],
      [() => getSaga(starterOnly, sagaId), 'sagas:read'],
      [() => action(reader, 'cancel', sagaId), 'sagas:cancel'],
      [() => action(alice, 'resume', sagaId), 'sagas:operate'],
      [
        () =>
          server
            .as(CUSTOMER_KEY)
            .POST('/sagas/{sagaId}/resolve', { params: { path: { sagaId } }, body: { note: 'x' } }),
        'sagas:operate',
      ],
    ] as const) {
      const res = await send();
      expect(res.response.status).toBe(403);
      expect(res.response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.error?.detail).toBe(`this request needs the scope ${scope}`);
      expect(res.response.headers.get('www-authenticate')).toContain(`scope="${scope}"`);
    }
    // Scopes in `scp` (a list, as some issuers send them) count too.
    const scp = server.as(await issuer.token('erin', '', { claims: { scp: ['sagas:read'] } }));
    expect((await stock(scp)).response.status).toBe(200);
    expect((await stock(reader)).response.status).toBe(200);
    expect(await countSagas()).toBe(before);
  });

  test('without sagas:operate a caller sees, lists, cancels and refunds only its own sagas', async () => {
    const customerId = `own-${randomUUID().slice(0, 8)}`;
    const running = (
      await alice.POST('/sagas', {
        body: sampleOrder({ customerId, paymentToken: 'tok_processingError_99' }),
      })
    ).data!;
    const done = (
      await alice.POST('/sagas', {
        params: { query: { waitSeconds: 30 } },
        body: sampleOrder({ customerId }),
      })
    ).data!;
    expect(done.status).toBe('COMPLETED');
    // Started before ownership existed: no StartedBy.
    const legacy = await startSaga(stack, sampleOrder({ customerId }));
    await legacy.result();
    const ids = [running.sagaId, done.sagaId];

    const unknown = await getSaga(bob, `order-${randomUUID()}`);
    for (const id of [...ids, legacy.workflowId]) {
      const seen = await getSaga(bob, id);
      expect(seen.response.status).toBe(404);
      // Indistinguishable from a saga that does not exist.
      expect(seen.error?.type).toBe(unknown.error?.type);
      expect(seen.error?.detail).toBe(`no saga with id ${id}`);
    }
    expect((await getSaga(alice, legacy.workflowId)).response.status).toBe(404);
    expect((await getSaga(operatorApi, legacy.workflowId)).response.status).toBe(200);
    expect((await action(bob, 'cancel', running.sagaId)).response.status).toBe(404);
    expect((await refund(bob, done.orderId)).response.status).toBe(404);
    const refunds = await stack.client.workflow.count(`WorkflowId = 'refund-${done.orderId}'`);
    expect(refunds.count).toBe(0);

    const listOf = async (client: SagaClient) => {
      const res = await client.GET('/sagas', { params: { query: { customerId, pageSize: 100 } } });
      expect(res.response.status).toBe(200);
      return (res.data?.sagas ?? []).map((s) => s.sagaId).sort();
    };
    let operatorList: string[] = [];
    for (let i = 0; i < 50 && operatorList.length < 3; i++) {
      operatorList = await listOf(operatorApi);
      if (operatorList.length < 3) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(operatorList).toEqual([...ids, legacy.workflowId].sort());
    expect(await listOf(alice)).toEqual([...ids].sort());
    expect(await listOf(bob)).toEqual([]);
    expect(await listOf(server.as(READER_KEY))).toEqual([]);

    // Alice refunds her own order; the refund saga is hers too.
    const own = await refund(alice, done.orderId, 30);
    expect(own.response.status).toBe(200);
    expect(own.data?.saga).toMatchObject({ status: 'COMPLETED', startedBy: 'jwt:alice' });
    expect((await getSaga(bob, own.data!.sagaId)).response.status).toBe(404);

    // Her cancel is audited: who and when, in the saga's state and in one log line.
    const cancel = await action(alice, 'cancel', running.sagaId);
    expect(cancel.response.status).toBe(202);
    await stack.client.workflow.getHandle(running.sagaId).result();
    const after = (await getSaga(alice, running.sagaId)).data;
    expect(after).toMatchObject({
      status: 'COMPENSATED',
      audit: [{ action: 'cancel', by: 'jwt:alice', at: expect.any(String) }],
    });
    expect(Date.parse(after?.audit?.[0]?.at ?? '')).toBeGreaterThan(Date.now() - 120_000);
    const twice = await action(alice, 'cancel', running.sagaId);
    expect(twice.response.status).toBe(409);
    const lines = logLines.filter((line) => line.sagaId === running.sagaId && line.audit === 'cancel');
    expect(lines).toEqual([
      // Bob's attempt above is audited too, as the 404 he got.
      expect.objectContaining({ by: 'jwt:bob', outcome: 'refused', httpStatus: 404 }),
      expect.objectContaining({ by: 'jwt:alice', outcome: 'accepted', msg: 'saga cancel accepted' }),
      expect.objectContaining({ by: 'jwt:alice', outcome: 'refused', httpStatus: 409 }),
    ]);
  });

  test('an operator resumes and resolves a parked saga: both audited, the resolution names its author', async () => {
    const parking = (
      await serveTestApp(stack, {
        settings: {
          ...stack.settings,
          compensationPolicy: { ...stack.settings.compensationPolicy, deadline: '3s' },
        },
        logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) }),
      })
    ).api;
    const key = `audit-${randomUUID()}`;
    const operator = keyIdOf(TEST_API_KEY);
    const sagaId = idempotentSagaId(operator, key);
    await dbs.payments.providerFault.create({
      data: { id: `f-${sagaId}`, sagaId, operation: 'release', message: 'outage' },
    });
    const order = sampleOrder();
    await parking.POST('/sagas', {
      params: { header: { 'idempotency-key': key } },
      body: { ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } },
    });
    await waitFor(operatorApi, sagaId, (saga) => saga.status === 'COMPENSATION_FAILED');
    // The fault is still there: resumed, it parks again.
    expect((await action(parking, 'resume', sagaId)).response.status).toBe(202);
    await waitFor(
      operatorApi,
      sagaId,
      (saga) => saga.status === 'COMPENSATION_FAILED' && saga.audit?.length === 1,
    );
    const resolved = await parking.POST('/sagas/{sagaId}/resolve', {
      params: { path: { sagaId } },
      body: { note: 'voided by hand' },
    });
    expect(resolved.response.status).toBe(200);
    await stack.client.workflow.getHandle(sagaId).result();
    const view = await getSaga(operatorApi, sagaId);
    expect(view.data).toMatchObject({
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
    const limited = await serveTestApp(stack, { rateLimitPerMinute: 3, jwt: issuer.config });
    const before = await countSagas();
    for (let i = 0; i < 3; i++) {
      const res = await limited.as(`wrong-key-${i}-0123456789abcdef`).GET('/sagas');
      expect(res.response.status).toBe(401);
    }
    // A start without a body: the limit answers before the body is looked at.
    const limitedRes = await untyped(limited.as('wrong-key-x-0123456789')).POST('/sagas');
    expect(limitedRes.response.status).toBe(429);
    expect(Number(limitedRes.response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((limitedRes.error as Schemas['Problem']).detail).toMatch(/failed authentication/);
    // The address is held back for the rest of the window, whatever it presents.
    expect((await limited.api.POST('/sagas', { body: sampleOrder() })).response.status).toBe(429);
    expect(await countSagas()).toBe(before);

    // Successful requests do not count against the failure budget.
    const fresh = await serveTestApp(stack, { rateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) {
      expect((await stock(fresh.api)).response.status).toBe(200);
    }
    expect((await fresh.as('wrong-key-y-0123456789').GET('/sagas')).response.status).toBe(401);
  });

  test('behind a trusted proxy the limit counts per forwarded client; untrusted, X-Forwarded-For changes nothing', async () => {
    const from = (app: TestApi, client: string, i: number) =>
      app
        .as(`wrong-key-${i}-0123456789abcdef`)
        .GET('/sagas', { headers: { 'X-Forwarded-For': client } })
        .then((res) => res.response.status);
    // The client connects from the loopback, which is the proxy here.
    const proxied = await serveTestApp(stack, { rateLimitPerMinute: 2, trustProxy: ['loopback'] });
    for (let i = 0; i < 2; i++) expect(await from(proxied, '203.0.113.1', i)).toBe(401);
    expect(await from(proxied, '203.0.113.1', 2)).toBe(429);
    // Another client behind the same proxy keeps its own budget.
    expect(await from(proxied, '203.0.113.2', 3)).toBe(401);

    // Without a trusted proxy the header is the client's own claim: a new one each time escapes nothing.
    const direct = await serveTestApp(stack, { rateLimitPerMinute: 2 });
    for (let i = 0; i < 2; i++) expect(await from(direct, `198.51.100.${i}`, i)).toBe(401);
    expect(await from(direct, '198.51.100.9', 2)).toBe(429);
  });

  test('a static key set works without a JWKS endpoint; an unreachable JWKS endpoint is 503', async () => {
    const fetchesBefore = issuer.fetches();
    const staticKeys = await serveTestApp(stack, {
      jwt: { ...issuer.config, jwksUrl: undefined, jwks: issuer.publicKeys },
    });
    const token = await issuer.token('frank', 'sagas:read', { alg: 'ES256' });
    expect((await stock(staticKeys.as(token))).response.status).toBe(200);
    expect(issuer.fetches()).toBe(fetchesBefore);

    const down = await serveTestApp(stack, {
      jwt: { ...issuer.config, jwksUrl: new URL(`http://127.0.0.1:${await freePort()}/jwks.json`) },
    });
    const before = await countSagas();
    const res = await down.as(token).POST('/sagas', { body: sampleOrder() });
    expect(res.response.status).toBe(503);
    expect(res.error?.type).toMatch(/identity-provider-unavailable/);
    // API keys still work while the issuer is unreachable.
    expect((await stock(down.api)).response.status).toBe(200);
    expect(await countSagas()).toBe(before);
  });

  test('every response above conformed to the OpenAPI document', () => {
    expect(conformanceChecked.length).toBeGreaterThan(40);
  });
});
