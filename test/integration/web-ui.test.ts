import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { orderIdKey } from '../../shared/search-attributes';
import { launchBrowser, newPage } from '../support/browser';
import { requireEnv, TEST_ENV } from '../support/env';
import { sampleOrder, startSaga } from '../support/orders';
import { startStack, type Stack } from '../support/stack';
import { listenCodecServer, type Listening } from '../support/listen';

/**
 * The Temporal Web UI shows a saga: run one to completion, find it in the workflows list by its custom
 * search attribute, open its detail page, in headless Chromium. Screenshots go to test-output/web-ui/
 * (failure.png when a step fails).
 */
describe('Temporal Web UI', () => {
  const outDir = path.resolve(__dirname, '../../test-output/web-ui');
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let codecServer: Listening | undefined;
  let codecUrl = '';
  const operatorKey = 'web-ui-operator-key-0123456789';

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    // Fails (does not skip) with the reason when Chromium is missing and cannot be installed.
    browser = await launchBrowser();
    stack = await startStack();
    codecServer = await listenCodecServer(operatorKey, new URL(requireEnv(TEST_ENV.temporalUiUrl)).origin);
    codecUrl = codecServer.url;
  });

  afterAll(async () => {
    await browser?.close();
    await codecServer?.close();
    await stack?.stop();
  });

  test('lists a completed saga by its OrderId and shows its detail page', async () => {
    const order = sampleOrder({ customerId: 'cust-ui-4711' });
    const handle = await startSaga(stack!, order);
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPLETED');
    const described = await handle.describe();
    const orderId = described.typedSearchAttributes.get(orderIdKey);
    expect(orderId).toMatch(/^ord_/);
    const query = `OrderId="${orderId}"`;

    // Visibility is eventually consistent: wait until the server lists the closed saga, so the UI's first
    // load of the list already shows it.
    await waitUntil(async () => {
      for await (const execution of stack!.client.workflow.list({
        query: `${query} AND ExecutionStatus="Completed"`,
      }))
        if (execution.workflowId === handle.workflowId) return true;
      return false;
    }, `saga ${handle.workflowId} never became visible as Completed in the server's list`);

    const uiUrl = requireEnv(TEST_ENV.temporalUiUrl);
    page = await newPage(browser!);
    try {
      const listUrl = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
      await page.goto(listUrl, { waitUntil: 'domcontentloaded' });
      const link = page.locator(`a[href*="/workflows/${encodeURIComponent(handle.workflowId)}/"]`);
      await visible(link.first(), `a link to workflow ${handle.workflowId} in the list at ${listUrl}`);
      await visible(page.getByText('Completed', { exact: true }).first(), `status Completed in the list`);
      expect(await page.locator('body').innerText()).toContain(handle.workflowId);
      await page.screenshot({ path: path.join(outDir, 'workflows-list.png'), fullPage: true });

      const workflowPath = `${encodeURIComponent(handle.workflowId)}/${described.runId}`;
      const detailUrl = `${uiUrl}/namespaces/default/workflows/${workflowPath}/history`;
      // Tall enough for the whole event history timeline (the UI scrolls inside its own panes).
      await page.setViewportSize({ width: 1440, height: 1100 });
      await page.goto(detailUrl, { waitUntil: 'domcontentloaded' });
      await visible(
        page.getByRole('heading', { name: handle.workflowId }),
        `the saga's heading at ${detailUrl}`,
      );
      await visible(page.getByText('orderSaga', { exact: true }).first(), 'workflow type orderSaga');
      await visible(page.getByText('Completed', { exact: true }).first(), 'status Completed');
      // The event history timeline has drawn the last step.
      await visible(page.getByText('approveOrder').first(), 'the approveOrder step in the event history');
      // Payloads are encrypted: without the codec server the UI shows only ciphertext and the key id.
      await visible(page.getByText('encryption-key-id').first(), 'the encrypted input (its key id)');
      const encrypted = await page.locator('body').innerText();
      expect(encrypted).toContain(handle.workflowId);
      expect(encrypted).not.toContain(order.customerId);
      expect(encrypted).not.toContain(order.paymentToken);
      await page.screenshot({ path: path.join(outDir, 'saga-detail-encrypted.png'), fullPage: true });

      // The operator signs in at the codec server and points the UI's codec settings at it, with
      // cross-origin credentials (what the UI's Codec Server dialog stores).
      await page.goto(`${codecUrl}/login`);
      await page.fill('input[name=apiKey]', operatorKey);
      await page.click('button[type=submit]');
      await visible(page.getByText('Signed in'), 'the codec server sign-in confirmation');
      await page.goto(`${uiUrl}/namespaces/default/workflows`, { waitUntil: 'domcontentloaded' });
      await page.evaluate((endpoint) => {
        // Runs in the page; this project's TypeScript has no DOM types.
        const { localStorage } = globalThis as unknown as {
          localStorage: { setItem(key: string, value: string): void };
        };
        localStorage.setItem('endpoint', JSON.stringify(endpoint));
        localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
        localStorage.setItem('includeCredentials', 'true');
      }, codecUrl);
      await page.goto(detailUrl, { waitUntil: 'domcontentloaded' });
      await visible(page.getByText(order.customerId).first(), 'the decrypted input (its customer id)');
      const detail = await page.locator('body').innerText();
      expect(detail).toContain('orderSaga');
      expect(detail).toContain('Completed');
      expect(detail).toContain(orderId);
      expect(detail).not.toContain('encryption-key-id');
      await page.screenshot({ path: path.join(outDir, 'saga-detail.png'), fullPage: true });
    } catch (error) {
      await page.screenshot({ path: path.join(outDir, 'failure.png'), fullPage: true }).catch(() => {});
      throw error;
    }
  });
});

/** The Web UI is a single-page app: wait for what it renders, with an explicit timeout and a clear error. */
async function visible(locator: Locator, what: string, timeoutMs = 30_000): Promise<void> {
  try {
    await locator.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    throw new Error(`the Temporal Web UI did not show ${what} within ${timeoutMs} ms`);
  }
}

/** Polls `check` until it returns true, or fails with `message`. */
async function waitUntil(check: () => Promise<boolean>, message: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
