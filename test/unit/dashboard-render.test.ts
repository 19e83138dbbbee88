import { legendOf, loadDashboard, substitute } from '../../tools/dashboard/render';

describe('dashboard rendering (tools/dashboard/render.ts)', () => {
  test('the shipped dashboard parses, and every panel has a PromQL target and a legend format', () => {
    const dashboard = loadDashboard();
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    for (const panel of dashboard.panels)
      for (const target of panel.targets) expect(target.legendFormat).toMatch(/\{\{\w+\}\}/);
  });

  test("only Grafana's $__rate_interval is replaced", () => {
    expect(substitute('rate(x[$__rate_interval]) + rate(y[$__rate_interval])', '30s')).toBe(
      'rate(x[30s]) + rate(y[30s])',
    );
    expect(substitute('sum(saga_parked)', '30s')).toBe('sum(saga_parked)');
  });

  test('legends use the series labels as Grafana does; a missing label is empty', () => {
    expect(legendOf('{{saga}} {{ outcome }}', { saga: 'order', outcome: 'completed' })).toBe(
      'order completed',
    );
    expect(legendOf('{{service}}/{{activity}}', { service: 'payments' })).toBe('payments/');
    expect(legendOf(undefined, { saga: 'order' })).toBe('{"saga":"order"}');
  });
});
