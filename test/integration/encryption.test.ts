import { temporal } from '@temporalio/proto';
import { ENCRYPTED_ENCODING } from '../../shared/encryption/payload-codec';
import { FINAL_OUTCOME_MEMO } from '../../workflows/saga/messages';
import { sampleOrder, startSaga } from '../support/orders';
import { startStack, type Stack } from '../support/stack';
import { listenCodecServer, type Listening } from '../support/listen';

/**
 * Payment tokens, addresses and customer ids never reach Temporal in plaintext: the raw history holds
 * only ciphertext (failure messages too), and the codec server gives an operator the original back.
 */
const UI_ORIGIN = 'http://127.0.0.1:8233';
const KEY = 'codec-test-key-0123456789';

describe('payload encryption', () => {
  let stack: Stack;
  let server: Listening;
  let codecUrl: string;

  beforeAll(async () => {
    stack = await startStack();
    server = await listenCodecServer(KEY, UI_ORIGIN);
    codecUrl = server.url;
  });
  afterAll(async () => {
    await server?.close();
    await stack?.stop();
  });

  /** The history as Temporal stores it, without the search attributes (indexed in clear by design). */
  async function rawHistory(workflowId: string) {
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const bytes = temporal.api.history.v1.History.encode(history).finish();
    const copy = temporal.api.history.v1.History.decode(bytes);
    for (const event of copy.events ?? []) {
      if (event.workflowExecutionStartedEventAttributes)
        event.workflowExecutionStartedEventAttributes.searchAttributes = null;
      if (event.upsertWorkflowSearchAttributesEventAttributes)
        event.upsertWorkflowSearchAttributesEventAttributes.searchAttributes = null;
    }
    return {
      history,
      text: Buffer.from(temporal.api.history.v1.History.encode(copy).finish()).toString('latin1'),
    };
  }

  test('no token, address or customer id in plaintext in the history of a completed saga', async () => {
    const order = sampleOrder({ customerId: 'cust-secret-7319' });
    const handle = await startSaga(stack, order);
    expect((await handle.result()).status).toBe('COMPLETED');
    const { text, history } = await rawHistory(handle.workflowId);
    for (const secret of [
      order.paymentToken,
      order.shippingAddress.line1,
      order.shippingAddress.city,
      order.shippingAddress.postalCode,
      order.customerId,
    ])
      expect(text).not.toContain(secret);
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(Buffer.from(input?.metadata?.encoding ?? []).toString()).toBe(ENCRYPTED_ENCODING);
    // The outcome memo (the final state, read by GET) is stored in visibility too: encrypted as well.
    const { raw } = await handle.describe();
    const memo = raw.workflowExecutionInfo?.memo?.fields?.[FINAL_OUTCOME_MEMO];
    expect(Buffer.from(memo?.metadata?.encoding ?? []).toString()).toBe(ENCRYPTED_ENCODING);
  });

  test('failure messages that quote an address are encrypted too', async () => {
    const order = sampleOrder({
      shippingAddress: { ...sampleOrder().shippingAddress, postalCode: '000 00' },
    });
    const handle = await startSaga(stack, order);
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPENSATED');
    // Decoded by the client: the reason names the postal code...
    expect(outcome.failure?.reason).toContain('000 00');
    // ...which the stored history does not.
    const { text } = await rawHistory(handle.workflowId);
    expect(text).not.toContain('000 00');
    expect(text).not.toContain('not served');
  });

  const toJson = (payload: temporal.api.common.v1.IPayload) => ({
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  });

  async function decode(payloads: unknown[], headers: Record<string, string>) {
    return fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: JSON.stringify({ payloads }),
    });
  }

  test('the codec server decodes the stored input back to the original order', async () => {
    const order = sampleOrder();
    const handle = await startSaga(stack, order);
    await handle.result();
    const { history } = await rawHistory(handle.workflowId);
    const stored = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;

    const refused = await decode(stored.map(toJson), {});
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');

    const response = await decode(stored.map(toJson), { authorization: `Bearer ${KEY}` });
    expect(response.status).toBe(200);
    const { payloads } = (await response.json()) as {
      payloads: { metadata: Record<string, string>; data: string }[];
    };
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    const input = JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString()) as { order: unknown };
    expect(input.order).toEqual(order);
  });
});
