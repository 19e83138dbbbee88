import { runChaos } from '../../tools/chaos/run';

/**
 * A small chaos run in CI (`npm run chaos` is the full one): 50 sagas while each worker is killed once,
 * the Temporal server restarts on its database and the shipments database is cut off for a while.
 */
describe('chaos run', () => {
  test('no saga is lost and no invariant is violated', async () => {
    const report = await runChaos({
      sagas: 50,
      concurrency: 10,
      faultRate: 0,
      scripted: true,
      seed: 7,
      quiescenceTimeoutMs: 240_000,
      log: () => undefined,
    });
    expect(report.started).toBe(50);
    expect(report.faults).toMatchObject({
      'kill-orchestrator': 1,
      'kill-orders': 1,
      'kill-payments': 1,
      'kill-shipments': 1,
      'temporal-restart': 1,
      'db-outage-shipments': 1,
    });
    expect(report.lostSagas).toEqual([]);
    expect(report.violations).toEqual([]);
    expect(report.completed + report.compensated + report.parked).toBe(50);
    expect(report.completed).toBeGreaterThan(0);
    expect(report.compensated).toBeGreaterThan(0);
  }, 420_000);
});
