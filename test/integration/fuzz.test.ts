import { runFuzz } from '../../tools/fuzz/run';
import {
  closeTestApps,
  conformanceChecked,
  conformanceMiddleware,
  serveTestApp,
  TEST_API_KEY,
  type TestApi,
} from '../support/api';
import { startStack, type Stack } from '../support/stack';

/** A small fuzz run in CI (`npm run fuzz` is the full one): hostile requests get 4xx problems, start nothing. */
describe('API fuzz run', () => {
  let stack: Stack;
  let server: TestApi;
  beforeAll(async () => {
    stack = await startStack({ services: [] });
    server = await serveTestApp(stack);
  });
  afterAll(async () => {
    await closeTestApps();
    await stack?.stop();
  });

  test('1,000 malformed or hostile requests: all 4xx problem+json as documented, no 5xx, no workflow started', async () => {
    const count = async () =>
      (await stack.client.workflow.count(`TaskQueue = '${stack.queues.orchestrator}'`)).count;
    const before = await count();
    // Each answer is also checked against the OpenAPI document; an undocumented one is a failure.
    const report = await runFuzz({
      baseUrl: server.url,
      apiKey: TEST_API_KEY,
      count: 1000,
      seed: 42,
      middleware: [conformanceMiddleware],
    });
    expect(report.failures).toEqual([]);
    // Every answer was one the document describes.
    expect(conformanceChecked).toHaveLength(1000);
    expect(
      Object.keys(report.byStatus).every((status) => Number(status) >= 400 && Number(status) < 500),
    ).toBe(true);
    expect(report.rssGrowthMiB).toBeLessThan(200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await count()).toBe(before);
  });
});
