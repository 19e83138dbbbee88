import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DASHBOARD_FILE, loadDashboard, queryPanels, renderSvg } from './render';

const USAGE = `npm run dashboard:render -- --prometheus <url> [--minutes 15 | --since <ISO time>] [--rate-interval 1m]
                              [--out docs/images/dashboard.svg] [--subtitle <text>]

Grafana cannot run here, so this draws the Grafana dashboard another way: it sends every panel's PromQL
from ${path.relative(process.cwd(), DASHBOARD_FILE)} unchanged (only $__rate_interval is replaced by
--rate-interval) to the Prometheus at --prometheus (query_range over the last --minutes) and renders the
series with vega-lite into one SVG. Any Prometheus scraping the stack works: the compose stack's
(http://127.0.0.1:9090), or the one test/integration/alerts.test.ts starts (it renders the same way into
test-output/dashboard/dashboard.svg).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      prometheus: { type: 'string' },
      minutes: { type: 'string', default: '15' },
      since: { type: 'string' },
      subtitle: { type: 'string' },
      'rate-interval': { type: 'string', default: '1m' },
      out: { type: 'string', default: 'docs/images/dashboard.svg' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.prometheus) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const end = new Date();
  const start = values.since
    ? new Date(values.since)
    : new Date(end.getTime() - Number(values.minutes) * 60_000);
  if (Number.isNaN(start.getTime()) || start >= end)
    throw new Error('--since must be an ISO time in the past, --minutes a positive number');
  const seconds = (end.getTime() - start.getTime()) / 1000;
  const dashboard = loadDashboard();
  const panels = await queryPanels(dashboard, {
    prometheusUrl: values.prometheus,
    start,
    end,
    stepSeconds: Math.max(1, Math.round(seconds / 300)),
    rateInterval: values['rate-interval'],
  });
  for (const panel of panels) console.error(`${panel.title}: ${panel.seriesCount} series`);
  const svg = await renderSvg(
    dashboard.title,
    panels,
    values.subtitle ??
      `${values.prometheus}; ${start.toISOString()} to ${end.toISOString()}; $__rate_interval=${values['rate-interval']}`,
    { start, end },
  );
  mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
  writeFileSync(values.out, svg);
  console.error(`wrote ${values.out}`);
}

main().catch((error: unknown) => {
  console.error(`dashboard:render failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
