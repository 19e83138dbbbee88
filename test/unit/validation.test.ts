import {
  ConfigError,
  apiConfigSchema,
  appConfigSchema,
  jwtConfigSchema,
  loadConfig,
  loadServiceDatabaseConfig,
} from '../../shared/config';
import { SCOPES } from '../../shared/scopes';
import { orderRequestSchema } from '../../shared/order';
import { buildListQuery } from '../../api/visibility-query';
import { listSagasQuerySchema, sagaIdSchema } from '../../api/schemas';

const order = {
  customerId: 'c-1',
  currency: 'EUR',
  items: [{ sku: 'a', quantity: 1, unitPrice: 100 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'DE' },
};

describe('order request schema', () => {
  test('accepts a valid order', () => expect(orderRequestSchema.safeParse(order).success).toBe(true));
  test.each([
    [
      'negative quantity',
      { ...order, items: [{ sku: 'a', quantity: -1, unitPrice: 1 }] },
      'items.0.quantity',
    ],
    [
      'fractional price',
      { ...order, items: [{ sku: 'a', quantity: 1, unitPrice: 1.5 }] },
      'items.0.unitPrice',
    ],
    ['lowercase currency', { ...order, currency: 'eur' }, 'currency'],
    ['no items', { ...order, items: [] }, 'items'],
    ['unknown field', { ...order, discount: 5 }, ''],
    ['absurd total', { ...order, items: [{ sku: 'a', quantity: 1000, unitPrice: 10_000_000 }] }, 'items'],
    ['not a token', { ...order, paymentToken: '4242424242424242' }, 'paymentToken'],
  ])('refuses %s', (_name, body, field) => {
    const result = orderRequestSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(field);
  });
});

describe('configuration', () => {
  test('a malformed database URL fails with one line naming the variable', () => {
    expect(() =>
      loadConfig(appConfigSchema, { API_KEYS: 'k'.repeat(16), ORDERS_DATABASE_URL: 'mysql://x' }),
    ).toThrow(
      new ConfigError(
        'Invalid configuration: ORDERS_DATABASE_URL must be a PostgreSQL URL such as postgresql://user@host:5432/database',
      ),
    );
  });
  test('a missing API key list is named', () => {
    expect(() => loadConfig(appConfigSchema, {})).toThrow(/API_KEYS/);
  });
  test('trusted proxies: hops or addresses and ranges; "true" and bad entries refused, named', () => {
    const api = (API_TRUST_PROXY?: string) =>
      loadConfig(apiConfigSchema, {
        API_KEYS: 'k'.repeat(16),
        ...(API_TRUST_PROXY ? { API_TRUST_PROXY } : {}),
      });
    expect(api().API_TRUST_PROXY).toBeUndefined();
    expect(api('1').API_TRUST_PROXY).toBe(1);
    expect(api('loopback, 10.0.0.0/8,::1,fd00::/8').API_TRUST_PROXY).toEqual([
      'loopback',
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
    ]);
    for (const bad of ['true', '0', '11', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/1']) {
      expect(() => api(bad)).toThrow(/API_TRUST_PROXY must be a number of proxy hops/);
    }
    expect(() => api('10.0.0.1,nope')).toThrow(/\(not: nope\)/);
  });

  test('durations are validated', () => {
    expect(() =>
      loadConfig(appConfigSchema, { API_KEYS: 'k'.repeat(16), SAGA_STEP_TIMEOUT: 'soon' }),
    ).toThrow(/SAGA_STEP_TIMEOUT/);
  });
  test('a service worker reads only its own database URL (payments: and its provider store and breaker)', () => {
    const config = loadServiceDatabaseConfig('payments', {
      PAYMENTS_DATABASE_URL: 'postgresql://u@h:5432/pay',
      PROVIDER_DATABASE_URL: 'postgresql://u@h:5432/provider',
      ORDERS_DATABASE_URL: 'not even a url',
      CIRCUIT_BREAKER_THRESHOLD: '8',
    });
    expect(config).toEqual({
      databaseUrl: 'postgresql://u@h:5432/pay',
      poolSize: 10,
      providerDatabaseUrl: 'postgresql://u@h:5432/provider',
      providerCircuitBreaker: { CIRCUIT_BREAKER_THRESHOLD: 8, CIRCUIT_BREAKER_HALF_OPEN_AFTER: '10s' },
    });
    expect(loadServiceDatabaseConfig('payments', {}).providerDatabaseUrl).toBe(
      'postgresql://postgres@127.0.0.1:5432/saga_provider',
    );
    expect(
      loadServiceDatabaseConfig('orders', { PROVIDER_DATABASE_URL: 'not even a url' }),
    ).not.toHaveProperty('providerDatabaseUrl');
    expect(() => loadServiceDatabaseConfig('payments', { PROVIDER_DATABASE_URL: 'mysql://x' })).toThrow(
      /PROVIDER_DATABASE_URL must be a PostgreSQL URL/,
    );
  });
});

describe('visibility query', () => {
  test('combines filters with AND and quotes values', () => {
    const filters = listSagasQuerySchema.parse({
      status: 'COMPLETED',
      customerId: 'c-1',
      startedAfter: '2026-01-01T00:00:00Z',
    });
    expect(buildListQuery('orderSaga', filters)).toBe(
      "WorkflowType = 'orderSaga' AND SagaStatus = 'COMPLETED' AND CustomerId = 'c-1' AND StartTime >= '2026-01-01T00:00:00.000Z'",
    );
  });
  test('lists several saga types at once, or one', () => {
    const filters = listSagasQuerySchema.parse({ orderId: 'ord_1b4e28ba-2fa1-11d2-883f-0016d3cca427' });
    expect(buildListQuery(['orderSaga', 'refundSaga'], filters)).toBe(
      "WorkflowType IN ('orderSaga', 'refundSaga') AND OrderId = 'ord_1b4e28ba-2fa1-11d2-883f-0016d3cca427'",
    );
    expect(buildListQuery(['refundSaga'], listSagasQuerySchema.parse({}))).toBe(
      "WorkflowType = 'refundSaga'",
    );
  });
  test('saga ids are an order saga id or a refund saga id, which names its order', () => {
    expect(sagaIdSchema.safeParse('order-1b4e28ba-2fa1-11d2-883f-0016d3cca427').success).toBe(true);
    expect(sagaIdSchema.safeParse('refund-ord_1b4e28ba-2fa1-11d2-883f-0016d3cca427').success).toBe(true);
    expect(sagaIdSchema.safeParse('refund-1b4e28ba-2fa1-11d2-883f-0016d3cca427').success).toBe(false);
    expect(sagaIdSchema.safeParse("refund-ord_1b4e28ba' OR 1=1").success).toBe(false);
  });
  test('the schema refuses injection attempts before a query is built', () => {
    expect(listSagasQuerySchema.safeParse({ customerId: "x' OR 1=1 --" }).success).toBe(false);
  });
});

describe('API keys with scopes, and JWT configuration', () => {
  const key = 'k'.repeat(16);
  const other = 'o'.repeat(16);
  const keys = (API_KEYS: string) => loadConfig(apiConfigSchema, { API_KEYS }).API_KEYS;

  test('a bare key has every scope (as before scopes); key:scope+scope has only those', () => {
    expect(keys(`${key}, ${other}:sagas:read+sagas:start`)).toEqual([
      { key, scopes: [...SCOPES] },
      { key: other, scopes: ['sagas:read', 'sagas:start'] },
    ]);
  });

  test.each([
    [`${key}:sagas:delete`, /API_KEYS entry 1: unknown scope "sagas:delete"/],
    [`${key}:`, /API_KEYS entry 1: unknown scope ""/],
    [`${key},short`, /API_KEYS entry 2: each key must have 16\+ characters/],
    [`${key},${key}:sagas:read`, /API_KEYS entry 2 repeats the key of entry 1/],
    [',', /API_KEYS needs at least one key/],
  ])('refuses %s naming the variable and the entry, never the key', (value, message) => {
    expect(() => keys(value)).toThrow(message);
    try {
      keys(value);
    } catch (error) {
      expect((error as Error).message).not.toContain(key);
    }
  });

  const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'a' }] });
  const jwt = (env: Record<string, string>) => loadConfig(jwtConfigSchema, env);

  test('tokens are off by default; with an issuer, audience and key set they are on', () => {
    expect(jwt({})).toBeUndefined();
    expect(
      jwt({
        API_JWT_ISSUER: 'https://id.example',
        API_JWT_AUDIENCE: 'saga-api',
        API_JWT_JWKS_URL: 'https://id.example/.well-known/jwks.json',
      }),
    ).toMatchObject({
      issuer: 'https://id.example',
      audience: 'saga-api',
      jwksUrl: new URL('https://id.example/.well-known/jwks.json'),
      algorithms: ['RS256', 'ES256'],
      clockToleranceSeconds: 30,
    });
    expect(
      jwt({ API_JWT_ISSUER: 'i', API_JWT_AUDIENCE: 'a', API_JWT_JWKS: jwks, API_JWT_ALGORITHMS: 'ES256' }),
    ).toMatchObject({ jwks: JSON.parse(jwks), algorithms: ['ES256'] });
  });

  test.each([
    [{ API_JWT_AUDIENCE: 'a' }, /API_JWT_ISSUER is required when API_JWT_AUDIENCE is set/],
    [{ API_JWT_ISSUER: 'i', API_JWT_JWKS: jwks }, /API_JWT_AUDIENCE is required/],
    [{ API_JWT_ISSUER: 'i', API_JWT_AUDIENCE: 'a' }, /API_JWT_JWKS_URL or API_JWT_JWKS/],
    [
      { API_JWT_ISSUER: 'i', API_JWT_AUDIENCE: 'a', API_JWT_JWKS: jwks, API_JWT_JWKS_URL: 'https://x/j' },
      /one of them, not both/,
    ],
    [
      { API_JWT_ISSUER: 'i', API_JWT_AUDIENCE: 'a', API_JWT_JWKS_URL: 'http://id.example/jwks' },
      /API_JWT_JWKS_URL must be an https URL/,
    ],
    [
      { API_JWT_ISSUER: 'i', API_JWT_AUDIENCE: 'a', API_JWT_JWKS: '{' },
      /API_JWT_JWKS must be a JSON Web Key Set/,
    ],
    [
      {
        API_JWT_ISSUER: 'i',
        API_JWT_AUDIENCE: 'a',
        API_JWT_JWKS: JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'secret' }] }),
      },
      /API_JWT_JWKS.*holds private key material/,
    ],
    [
      {
        API_JWT_ISSUER: 'i',
        API_JWT_AUDIENCE: 'a',
        API_JWT_JWKS: JSON.stringify({ keys: [{ kty: 'oct', k: 's' }] }),
      },
      /API_JWT_JWKS.*RSA or EC public key/,
    ],
    [
      { API_JWT_ISSUER: 'i', API_JWT_AUDIENCE: 'a', API_JWT_JWKS: jwks, API_JWT_ALGORITHMS: 'HS256' },
      /API_JWT_ALGORITHMS.*one of RS256, ES256/,
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => jwt(env)).toThrow(message);
  });

  test('the list query of a caller without sagas:operate is narrowed to the sagas it started', () => {
    expect(buildListQuery('orderSaga', { pageSize: 1 }, 'jwt:alice')).toBe(
      "WorkflowType = 'orderSaga' AND StartedBy = 'jwt:alice'",
    );
    expect(() => buildListQuery('orderSaga', { pageSize: 1 }, "x' OR 'a' = 'a")).toThrow(/quotes/);
  });
});
