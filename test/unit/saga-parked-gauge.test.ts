import { Registry } from 'prom-client';
import { sagaParkedGauge } from '../../shared/telemetry/metrics';

/** The gauge's own logic: one visibility count per cache period, and no stale sample after a failure. */
describe('saga_parked gauge', () => {
  const sample = async (registry: Registry) =>
    (await registry.getMetricsAsJSON()).find((m) => m.name === 'saga_parked');

  test('counts at scrape time, at most once per cache period', async () => {
    const registry = new Registry();
    let calls = 0;
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    sagaParkedGauge(registry, async () => ({ order: ++calls, refund: 0 }), 10_000);
    expect((await sample(registry))?.values).toEqual([
      { labels: { saga: 'order' }, value: 1 },
      { labels: { saga: 'refund' }, value: 0 },
    ]);
    now += 9_000;
    await registry.metrics();
    expect(calls).toBe(1);
    now += 1_000;
    expect((await sample(registry))?.values[0]?.value).toBe(2);
    jest.restoreAllMocks();
  });

  test('a failed count leaves no sample, is counted, and is retried at the next scrape', async () => {
    const registry = new Registry();
    let fail = true;
    sagaParkedGauge(registry, async () => {
      if (fail) throw new Error('visibility unavailable');
      return { order: 3 };
    });
    expect((await sample(registry))?.values).toEqual([]);
    expect(await registry.getSingleMetricAsString('saga_parked_count_failures_total')).toMatch(/ 1$/m);
    fail = false;
    expect((await sample(registry))?.values).toEqual([{ labels: { saga: 'order' }, value: 3 }]);
  });

  test('registering twice on one registry keeps the first (one app per registry in tests)', () => {
    const registry = new Registry();
    sagaParkedGauge(registry, async () => ({}));
    expect(() => sagaParkedGauge(registry, async () => ({}))).not.toThrow();
  });
});
