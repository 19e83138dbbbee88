import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'yaml';
import { SERVICES } from '../../shared/config';
import { freePort } from '../../shared/ports';
import { createMetricsRegistry } from '../../shared/telemetry/metrics';
import { keyIdOf } from '../../api/auth';
import { idempotentSagaId } from '../../api/saga-service';
import { ensurePrometheus } from '../../scripts/prometheus/ensure-prometheus';
import { serveTestApp, TEST_API_KEY, type TestApi } from '../support/api';
import { sampleOrder } from '../support/orders';
import { startProcesses, startWorkers, workerProcessEnv, type TestProcesses } from '../support/processes';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';

/**
 * The alert rules on a real Prometheus (Debian's package) scraping a real stack: the four service workers
 * and the orchestrator as separate processes (their own /metrics, Temporal SDK metrics included) and the
 * API. Prometheus answers PromQL with exactly the sagas this test ran, SagaParked fires when a saga parks
 * (after the rule's own `for:`, as shipped) and resolves once an operator resumes it, and every dashboard
 * panel's query returns series.
 */
const KINDS = ['orchestrator', ...SERVICES] as const;
const RULES_FILE = path.resolve(__dirname, '../../ops/prometheus/rules.yml');
/** Prometheus's own cadence here (the shipped prometheus.yml: 15 s and 15 s); the rules are as shipped. */
const SCRAPE_INTERVAL = '2s';
const EVALUATION_INTERVAL = '1s';

interface PrometheusAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

describe('alerts and dashboard on a real Prometheus', () => {
  const dbs = openServiceDbs();
  let stack: Stack;
  let workers: TestProcesses;
  let prometheus: TestProcesses;
  let api: TestApi;
  let prometheusUrl: string;
  let workDir: string;
  const testStart = new Date();

  beforeAll(async () => {
    const { prometheus: prometheusBin } = ensurePrometheus();
    stack = await startStack({ services: [], orchestrator: false });
    workers = startWorkers(KINDS, workerProcessEnv(stack));
    // Five Node processes starting at once on a shared machine: give them time.
    await Promise.all(KINDS.map((kind) => workers.waitForWorkerStart(kind, 1, 150_000)));
    // Parking is what this test is about: its sagas get a short compensation deadline (the shipped one
    // retries a compensation for much longer before parking).
    api = await serveTestApp(stack, {
      metrics: createMetricsRegistry('api'),
      settings: {
        ...stack.settings,
        compensationPolicy: { ...stack.settings.compensationPolicy, deadline: '3s' },
      },
    });

    workDir = mkdtempSync(path.join(tmpdir(), 'saga-prometheus-'));
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    const hostOf = (url: string) => new URL(url).host;
    const config = {
      global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: EVALUATION_INTERVAL },
      rule_files: [RULES_FILE],
      scrape_configs: [
        { job_name: 'saga-api', static_configs: [{ targets: [hostOf(api.url)] }] },
        {
          job_name: 'saga-workers',
          static_configs: KINDS.map((kind) => ({
            targets: [hostOf(workerMetricsUrl(kind))],
            labels: { worker: kind },
          })),
        },
      ],
    };
    writeFileSync(path.join(workDir, 'prometheus.yml'), stringify(config));
    prometheus = startProcesses(
      [
        {
          name: 'prometheus',
          command: prometheusBin,
          args: [
            `--config.file=${path.join(workDir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${path.join(workDir, 'data')}`,
            `--web.listen-address=127.0.0.1:${port}`,
            '--log.level=warn',
          ],
          env: process.env,
          cwd: workDir,
        },
      ],
      { restart: false },
    );
    // Every target scraped and up: the API and the five worker kinds.
    try {
      await eventually(
        'all six targets up',
        60_000,
        async () => {
          const up = await query('up == 1');
          return up.length === 1 + KINDS.length ? up : undefined;
        },
        () => query('up'),
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; Prometheus at ${prometheusUrl} said: ${prometheus.output('prometheus')} ` +
          `(supervisor: ${prometheus.log().join('; ')})`,
      );
    }
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    await api?.close();
    await workers?.stop();
    await stack?.stop();
    await dbs.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  function workerMetricsUrl(kind: string): string {
    const started = workers
      .output(kind)
      .split('\n')
      .find((line) => line.includes('worker started'));
    const url = (JSON.parse(started ?? '{}') as { metrics?: string }).metrics;
    if (!url) throw new Error(`the ${kind} worker did not log its metrics URL`);
    return url;
  }

  async function prometheusApi<T>(apiPath: string, params: Record<string, string> = {}): Promise<T> {
    const url = new URL(apiPath, prometheusUrl);
    url.search = new URLSearchParams(params).toString();
    const response = await fetch(url);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${apiPath}: ${body.error ?? response.status}`);
    return body.data;
  }

  async function query(
    promql: string,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const data = await prometheusApi<{
      result: { metric: Record<string, string>; value: [number, string] }[];
    }>('/api/v1/query', { query: promql });
    return data.result;
  }

  /** `{ "completed": 2, ... }` from a query whose series differ by one label. */
  async function byLabel(promql: string, label: string): Promise<Record<string, number>> {
    return Object.fromEntries(
      (await query(promql)).map((sample) => [sample.metric[label] ?? '', Number(sample.value[1])]),
    );
  }

  async function alerts(name: string): Promise<PrometheusAlert[]> {
    const data = await prometheusApi<{ alerts: (PrometheusAlert & { labels: { alertname: string } })[] }>(
      '/api/v1/alerts',
    );
    return data.alerts.filter((alert) => alert.labels.alertname === name);
  }

  /** Polls until `probe` returns a value; on timeout, says what `seen` saw last, or what was thrown. */
  async function eventually<T>(
    what: string,
    timeoutMs: number,
    probe: () => Promise<T | undefined>,
    seen: () => Promise<unknown> = async () => undefined,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
        last = JSON.stringify(await seen());
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline)
        throw new Error(`${what}: not after ${timeoutMs / 1000} s${last ? ` (${String(last)})` : ''}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async function sagaStatus(sagaId: string): Promise<string | undefined> {
    return (await api.api.GET('/sagas/{sagaId}', { params: { path: { sagaId } } })).data?.status;
  }

  const unserviceable = () => {
    const order = sampleOrder();
    return { ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } };
  };

  test('PromQL answers with the sagas this test ran, counted by the stack it scrapes', async () => {
    // A 404 before and after the sagas, for the errors-by-route panel (a 4xx, not a fault): rate()
    // needs the series to exist before it grows.
    const notFound = async () =>
      expect(
        (await api.api.GET('/sagas/{sagaId}', { params: { path: { sagaId: `order-${randomUUID()}` } } }))
          .response.status,
      ).toBe(404);
    await notFound();
    const outcomes: string[] = [];
    for (const order of [sampleOrder(), sampleOrder(), unserviceable()]) {
      const { response, data } = await api.api.POST('/sagas', {
        params: { query: { waitSeconds: 25 } },
        body: order,
      });
      expect(response.status).toBe(200);
      outcomes.push(data!.status);
    }
    expect(outcomes).toEqual(['COMPLETED', 'COMPLETED', 'COMPENSATED']);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // a scrape between the two
    await notFound();

    // The workers and the API are fresh processes: their counters hold exactly this test's sagas.
    const expected = {
      outcomes: { completed: 2, compensated: 1, compensation_failed: 0, resolved: 0 },
      started: { order: 3 },
      compensations: { orders: 1, inventory: 1, payments: 1, shipments: 1 },
      apiStarts: { '200': 3 },
    };
    const scraped = async () => ({
      outcomes: await byLabel('sum by (outcome) (saga_outcomes_total{saga="order"})', 'outcome'),
      started: await byLabel('sum by (saga) (saga_started_total)', 'saga'),
      compensations: await byLabel(
        'sum by (service) (saga_activity_duration_seconds_count{kind="compensation", result="ok"})',
        'service',
      ),
      apiStarts: await byLabel(
        'sum by (status_code) (http_request_duration_seconds_count{method="POST", path="/sagas"})',
        'status_code',
      ),
    });
    // Until the last scrape after the last saga; then exactly these counts.
    await eventually(
      'the counts of this test scraped',
      30_000,
      async () => (isDeepStrictEqual(await scraped(), expected) ? true : undefined),
      scraped,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000)); // a scrape later: nothing more
    expect(await scraped()).toEqual(expected);
    // The worker-kind rule reads the SDK's poller gauge: every kind has pollers.
    const pollers = await byLabel('sum by (worker) (temporal_num_pollers{job="saga-workers"})', 'worker');
    expect(Object.keys(pollers).sort()).toEqual([...KINDS].sort());
    expect(Object.values(pollers).every((count) => count > 0)).toBe(true);
  });

  test('SagaParked fires when a saga parks, after its `for:`, and resolves once the saga is resumed', async () => {
    const key = `park-${randomUUID()}`;
    const sagaId = idempotentSagaId(keyIdOf(TEST_API_KEY), key);
    await dbs.payments.providerFault.create({
      data: { id: `f-${sagaId}`, sagaId, operation: 'release', message: 'outage' },
    });
    const started = await api.api.POST('/sagas', {
      params: { header: { 'idempotency-key': key } },
      body: unserviceable(),
    });
    expect(started.data?.sagaId).toBe(sagaId);
    await eventually('the saga parked', 60_000, async () =>
      (await sagaStatus(sagaId)) === 'COMPENSATION_FAILED' ? true : undefined,
    );
    const parkedAt = Date.now();

    const pending = await eventually('SagaParked pending', 30_000, async () =>
      (await alerts('SagaParked')).find((alert) => alert.state === 'pending'),
    );
    expect(pending.labels).toMatchObject({ saga: 'order', severity: 'page' });
    const firing = await eventually('SagaParked firing', 120_000, async () =>
      (await alerts('SagaParked')).find((alert) => alert.state === 'firing'),
    );
    const firedAt = Date.now();
    // The shipped `for: 1m`: not firing before the condition held for a minute.
    expect(firedAt - Date.parse(firing.activeAt)).toBeGreaterThanOrEqual(60_000);
    expect(firing.labels).toMatchObject({ alertname: 'SagaParked', saga: 'order', severity: 'page' });
    expect(await byLabel('saga_parked', 'saga')).toEqual({ order: 1, refund: 0 });
    // Nothing else fires on this healthy stack (every worker kind polls, no 5xx).
    const firingNow = await prometheusApi<{ alerts: PrometheusAlert[] }>('/api/v1/alerts');
    expect(
      firingNow.alerts.filter((alert) => alert.state === 'firing').map((alert) => alert.labels.alertname),
    ).toEqual(['SagaParked']);
    expect(await byLabel('sum by (outcome) (saga_outcomes_total{saga="order"})', 'outcome')).toMatchObject({
      compensation_failed: 1,
    });
    // The parked compensation was retried before giving up, and the retries were counted.
    const retries = await byLabel(
      'sum by (activity) (saga_activity_retries_total{kind="compensation"})',
      'activity',
    );
    expect(retries.releasePayment).toBeGreaterThanOrEqual(1);

    // The operator fixes the cause and resumes (README "REST API"): the saga compensates, the alert ends.
    await dbs.payments.providerFault.deleteMany({ where: { sagaId } });
    const resumed = await api.api.POST('/sagas/{sagaId}/resume', { params: { path: { sagaId } } });
    expect(resumed.response.status).toBe(202);
    await stack.client.workflow.getHandle(sagaId).result();
    expect(await sagaStatus(sagaId)).toBe('COMPENSATED');
    const rows = await dbs.rowsOf(sagaId);
    expect(rows.payment?.status).toBe('VOIDED');
    await eventually('SagaParked resolved', 60_000, async () =>
      (await alerts('SagaParked')).length === 0 ? true : undefined,
    );
    expect(await byLabel('saga_parked', 'saga')).toEqual({ order: 0, refund: 0 });
    console.log(
      `SagaParked: fired ${Math.round((firedAt - parkedAt) / 1000)} s after the saga parked, ` +
        `resolved ${Math.round((Date.now() - firedAt) / 1000)} s after firing (resume included)`,
    );
  }, 300_000);

  test('every metric the rules read is scraped from the stack (after the retries above)', async () => {
    const rules = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
    const exprs = rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr)).join('\n');
    const raw = [...new Set(exprs.match(/(?<![:\w])(?:saga|temporal|http)_[a-z_]+\b/g) ?? [])];
    expect(raw.length).toBeGreaterThanOrEqual(8);
    const missing: string[] = [];
    for (const name of raw) if ((await query(`count(${name})`)).length === 0) missing.push(name);
    expect(missing).toEqual([]);
  });

  test('npm run dashboard:render: every panel query returns series, drawn into test-output/dashboard/dashboard.svg', () => {
    const out = path.resolve(__dirname, '../../test-output/dashboard/dashboard.svg');
    const rendered = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'tools/dashboard/cli.ts',
        `--prometheus=${prometheusUrl}`,
        `--since=${testStart.toISOString()}`,
        '--rate-interval=30s',
        `--out=${out}`,
        `--subtitle=Prometheus of test/integration/alerts.test.ts, ${new Date().toISOString().slice(0, 16)} UTC; ` +
          'PromQL of ops/grafana/dashboards/saga.json; $__rate_interval=30s',
      ],
      { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8', timeout: 60_000 },
    );
    expect(rendered.stderr).toContain(`wrote ${out}`);
    expect(rendered.status).toBe(0);
    const dashboard = JSON.parse(
      readFileSync(path.resolve(__dirname, '../../ops/grafana/dashboards/saga.json'), 'utf8'),
    ) as { panels: { title: string }[] };
    const counts = Object.fromEntries(
      [...rendered.stderr.matchAll(/^(.+): (\d+) series$/gm)].map((m) => [m[1], Number(m[2])]),
    );
    expect(Object.keys(counts)).toEqual(dashboard.panels.map((panel) => panel.title));
    expect(Object.entries(counts).filter(([, count]) => count === 0)).toEqual([]);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toMatch(/^<svg/);
    for (const { title } of dashboard.panels) expect(svg).toContain(title);
    expect(svg).not.toContain('(no data)');
  });
});
