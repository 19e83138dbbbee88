import { ConfigError, appConfigSchema, loadConfig, loadServiceDatabaseConfig } from '../../shared/config';
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
  test('durations are validated', () => {
    expect(() =>
      loadConfig(appConfigSchema, { API_KEYS: 'k'.repeat(16), SAGA_STEP_TIMEOUT: 'soon' }),
    ).toThrow(/SAGA_STEP_TIMEOUT/);
  });
  test('a service worker reads only its own database URL (payments: and its provider store)', () => {
    const config = loadServiceDatabaseConfig('payments', {
      PAYMENTS_DATABASE_URL: 'postgresql://u@h:5432/pay',
      PROVIDER_DATABASE_URL: 'postgresql://u@h:5432/provider',
      ORDERS_DATABASE_URL: 'not even a url',
    });
    expect(config).toEqual({
      databaseUrl: 'postgresql://u@h:5432/pay',
      poolSize: 10,
      providerDatabaseUrl: 'postgresql://u@h:5432/provider',
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
