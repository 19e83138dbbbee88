import { runChaos, type ChaosReport } from '../../tools/chaos/run';

/**
 * A small chaos run in CI (`npm run chaos` is the full one), with the shipped saga settings: 50 sagas
 * paced over 210 s while the payments database is cut off for 60 s, the Temporal server restarts on its
 * database, each worker is killed once, the shipments worker is held down for 60 s and the payment
 * provider fails every call for 45 s, and the broker is stopped for 60 s (alongside the hold-down); then every domain event must be on the run's broker exactly once.
 * About five minutes.
 */
describe('chaos run (scripted faults)', () => {
  let report: ChaosReport;
  beforeAll(async () => {
    report = await runChaos({
      sagas: 50,
      concurrency: 10,
      faultRate: 0,
      scripted: true,
      seed: 7,
      quiescenceTimeoutMs: 300_000,
      databasePrefix: `${process.env.TEST_DATABASE_PREFIX ?? 'saga_test_'}chaos_`,
      log: () => undefined,
    });
  }, 600_000);

  test('no saga is lost and no invariant is violated', () => {
    expect(report.started).toBe(50);
    expect(report.faults).toEqual({
      'kill-orchestrator': 1,
      'kill-orders': 1,
      'kill-payments': 1,
      'kill-shipments': 1,
      'kill-inventory': 1,
      'db-outage-payments': 1,
      'temporal-restart': 1,
      'hold-down-shipments': 1,
      'provider-outage': 1,
      'broker-outage': 1,
    });
    expect(report.lostSagas).toEqual([]);
    expect(report.violations).toEqual([]);
    expect(report.completed + report.compensated + report.parked).toBe(50);
    expect(report.completed).toBeGreaterThan(0);
    expect(report.compensated).toBeGreaterThan(0);
  });

  // The relays ran in the workers the run killed, held down and cut off from their databases: every
  // outbox row (one per effect, checked by the outbox invariants above) is on the stream once, in order.
  test('every domain event reached the broker exactly once, each aggregate in order', () => {
    const { rows, published, onStream } = report.events;
    console.log(`domain events: ${rows} outbox rows, ${published} published, ${onStream} on the stream`);
    expect(report.events.problems).toEqual([]);
    expect(report.events.rows).toBeGreaterThan(100);
    expect(report.events).toMatchObject({ published: report.events.rows, onStream: report.events.rows });
  });

  // Forward recovery: the 60 s database outage and the 60 s hold-down delay sagas, they never roll back a
  // valid order (before it, a step's 5 attempts over about 3 s rolled back a fifth of these).
  test('no saga is compensated that would have completed without the faults', () => {
    expect(report.compensatedWouldHaveCompleted).toEqual([]);
  });
});
