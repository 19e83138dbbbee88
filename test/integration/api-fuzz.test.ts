import fc from 'fast-check';
import { untyped, type UntypedSagaClient } from '../../api/client';
import { orderRequestSchema } from '../../shared/order';
import { closeTestApps, serveTestApp } from '../support/api';
import { sampleOrder } from '../support/orders';
import { startStack, type Stack } from '../support/stack';

/**
 * Property: a start request whose body the schema refuses always gets a 4xx problem and never starts a
 * workflow (counted in Temporal before and after).
 */
describe('POST /sagas with generated invalid bodies', () => {
  let stack: Stack;
  /** Invalid bodies are what the document forbids: the test client without its types (still checked). */
  let api: UntypedSagaClient;

  beforeAll(async () => {
    stack = await startStack({ services: [] });
    api = untyped((await serveTestApp(stack)).api);
  });
  afterAll(async () => {
    await closeTestApps();
    await stack?.stop();
  });

  const hostile = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.constantFrom(
      "' OR 1=1 --",
      '<script>alert(1)</script>',
      '${jndi:ldap://x}',
      '\u0000',
      '../../etc/passwd',
      '𝕏'.repeat(70),
    ),
    fc.integer(),
    fc.double(),
    fc.constantFrom(-1, 0, 1e12, Number.MAX_SAFE_INTEGER, 1.5),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.anything(), { maxLength: 5 }),
    fc.object({ maxDepth: 3 }),
  );
  const fields = ['customerId', 'currency', 'items', 'paymentToken', 'shippingAddress'] as const;

  /** A valid order with one field replaced, removed, or an extra field added; kept only if the schema refuses it. */
  const invalidBody = fc
    .tuple(fc.constantFrom(...fields, 'extra' as const), hostile, fc.boolean())
    .map(([field, value, remove]) => {
      const body: Record<string, unknown> = { ...sampleOrder() };
      if (field === 'extra') body[`x_${String(value).slice(0, 10)}`] = value;
      else if (remove) delete body[field];
      else body[field] = value;
      return body;
    })
    .filter((body) => !orderRequestSchema.safeParse(body).success);

  test('always 4xx problem+json, and no workflow started', async () => {
    const count = async () =>
      (await stack.client.workflow.count(`TaskQueue = '${stack.queues.orchestrator}'`)).count;
    const before = await count();
    await fc.assert(
      fc.asyncProperty(invalidBody, async (body) => {
        const { response, error } = await api.POST('/sagas', { body });
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect((error as { errors?: unknown[] }).errors?.length ?? 0).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
    // Visibility is eventually consistent; a started workflow would show within this wait.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await count()).toBe(before);
  });
});
