import type { Express } from 'express';
import { runFuzz } from '../../tools/fuzz/run';
import { createTestApp, TEST_API_KEY } from '../support/api';
import { startStack, type Stack } from '../support/stack';

/** A small fuzz run in CI (`npm run fuzz` is the full one): hostile requests get 4xx problems, start nothing. */
describe('API fuzz run', () => {
  let stack: Stack;
  let app: Express;
  beforeAll(async () => {
    stack = await startStack({ services: [] });
    app = createTestApp(stack);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('1,000 malformed or hostile requests: all 4xx problem+json, no 5xx, no workflow started', async () => {
    const count = async () =>
      (await stack.client.workflow.count(`TaskQueue = '${stack.queues.orchestrator}'`)).count;
    const before = await count();
    const report = await runFuzz(app, TEST_API_KEY, 1000, 42);
    expect(report.failures).toEqual([]);
    expect(
      Object.keys(report.byStatus).every((status) => Number(status) >= 400 && Number(status) < 500),
    ).toBe(true);
    expect(report.rssGrowthMiB).toBeLessThan(200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await count()).toBe(before);
  });
});
