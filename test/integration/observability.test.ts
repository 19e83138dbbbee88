import { mkdirSync, writeFileSync } from 'node:fs';
import { SERVICES } from '../../shared/config';
import path from 'node:path';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../shared/logger';
import { createMetricsRegistry } from '../../shared/telemetry/metrics';
import { startTracing, type Tracing } from '../../shared/telemetry/tracing';
import { serveTestApp, type TestApi } from '../support/api';
import { startOtlpReceiver, type ReceivedSpan } from '../../tools/traces/otlp-receiver';
import { renderTrace } from '../../tools/traces/tree';
import { waitUntil } from '../support/order-history';
import { sampleOrder } from '../support/orders';
import { startWorkers, workerProcessEnv, type TestProcesses } from '../support/processes';
import { startStack, type Stack } from '../support/stack';

/**
 * Observability end to end, with every worker a separate process exporting spans over OTLP/HTTP and
 * the API in this process exporting to memory: one trace from the API request to the activities and
 * compensations of every service; Prometheus metrics on the API and every worker; log lines that
 * carry the saga id and the trace id.
 */
const KINDS = ['orchestrator', ...SERVICES] as const;

describe('traces, metrics and logs of a saga', () => {
  const apiSpans = new InMemorySpanExporter();
  const apiLogLines: string[] = [];
  let tracing: Tracing;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let stack: Stack;
  let server: TestApi;
  let apiUrl: string;
  let workers: TestProcesses;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    tracing = startTracing({
      serviceName: 'saga-api',
      config: { OTEL_TRACES_EXPORTER: 'none', METRICS_HOST: '127.0.0.1', METRICS_PORT: 0 },
      spanProcessor: new SimpleSpanProcessor(apiSpans),
    });
    stack = await startStack({ services: [], orchestrator: false, telemetry: { tracing } });
    const env = {
      ...workerProcessEnv(stack),
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    workers = startWorkers(KINDS, env);
    await Promise.all(KINDS.map((kind) => workers.waitForWorkerStart(kind)));

    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        apiLogLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    server = await serveTestApp(stack, {
      tracer: tracing.tracer,
      metrics: createMetricsRegistry('api'),
      logger: createLogger('api', 'info', logStream),
    });
    apiUrl = server.url;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await workers?.stop();
    await stack?.stop();
    await tracing?.shutdown();
    await receiver?.close();
  });

  async function runSaga(order = sampleOrder()): Promise<{ sagaId: string; status: string }> {
    const { data, response } = await server.api.POST('/sagas', {
      params: { query: { waitSeconds: 25 } },
      body: order,
    });
    expect(response.status).toBe(200);
    return data!;
  }

  /** The API's server span for the saga, and every span of its trace from all processes. */
  async function traceOf(sagaId: string, expected: readonly string[]) {
    const root = apiSpans
      .getFinishedSpans()
      .find((span) => span.name === 'POST /sagas' && span.attributes['saga.id'] === sagaId);
    if (!root) throw new Error(`no API span for ${sagaId}`);
    const traceId = root.spanContext().traceId;
    const own: ReceivedSpan[] = apiSpans
      .getFinishedSpans()
      .filter((span) => span.spanContext().traceId === traceId)
      .map((span) => ({
        service: 'saga-api',
        traceId,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanId,
        name: span.name,
        attributes: span.attributes,
      }));
    // Spans arrive in batches from four processes; wait until every expected one is linked to the root.
    const rootId = root.spanContext().spanId;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const spans = [...own, ...receiver.spans.filter((span) => span.traceId === traceId)];
      const unlinked = expected.filter((name) => {
        const span = spans.find((s) => `${s.service} ${s.name}` === name);
        return !span || ancestry(spans, span).at(-1)?.spanId !== rootId;
      });
      if (unlinked.length === 0) return { root, spans };
      if (Date.now() > deadline)
        throw new Error(`trace ${traceId}: not linked to the API span: ${unlinked.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  function ancestry(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const chain = [span];
    for (let parent = byId.get(span.parentSpanId ?? ''); parent; parent = byId.get(parent.parentSpanId ?? ''))
      chain.push(parent);
    return chain;
  }

  test('one trace links the API request to the workflow and the activities of every service', async () => {
    const { sagaId, status } = await runSaga();
    expect(status).toBe('COMPLETED');
    const expected = [
      'saga-api POST /sagas',
      'saga-api StartWorkflow:orderSaga',
      'saga-worker-orchestrator RunWorkflow:orderSaga',
      'saga-worker-orders RunActivity:createOrder',
      'saga-worker-inventory RunActivity:reserveStock',
      'saga-worker-payments RunActivity:authorizePayment',
      'saga-worker-shipments RunActivity:scheduleShipment',
      'saga-worker-payments RunActivity:capturePayment',
      'saga-worker-orders RunActivity:approveOrder',
    ];
    const { spans } = await traceOf(sagaId, expected);
    // Prisma's spans nest under the activity that ran the query, in each service's process.
    for (const service of SERVICES) {
      const dbSpan = spans.find(
        (s) => s.service === `saga-worker-${service}` && s.name.startsWith('prisma:'),
      );
      expect(dbSpan).toBeDefined();
      expect(ancestry(spans, dbSpan!).some((s) => s.name.startsWith('RunActivity:'))).toBe(true);
    }
    const outDir = path.resolve(__dirname, '../../test-output/traces');
    mkdirSync(outDir, { recursive: true });
    const inTrace = spans.filter(
      (s) =>
        !s.name.startsWith('prisma:') ||
        ['prisma:client:transaction', 'prisma:client:operation', 'prisma:client:db_query'].includes(s.name),
    );
    writeFileSync(path.join(outDir, 'completed-saga.txt'), renderTrace(inTrace));
  });

  test('compensations are spans of the same trace', async () => {
    const { sagaId, status } = await runSaga(
      sampleOrder({ shippingAddress: { ...sampleOrder().shippingAddress, country: 'AQ' } }),
    );
    expect(status).toBe('COMPENSATED');
    const { spans } = await traceOf(sagaId, [
      'saga-worker-shipments RunActivity:scheduleShipment',
      'saga-worker-payments RunActivity:releasePayment',
      'saga-worker-inventory RunActivity:releaseStock',
      'saga-worker-orders RunActivity:cancelOrder',
    ]);
    expect(spans.filter((s) => s.name.startsWith('RunActivity:')).map((s) => s.name)).toEqual(
      expect.arrayContaining(['RunActivity:createOrder', 'RunActivity:authorizePayment']),
    );
  });

  test('the outbox relays and Prisma’s internal steps export no spans', async () => {
    // The two sagas above left events in every service's outbox: wait until each relay published them,
    // then a few of its idle passes more, and until the spans of that time have been exported.
    for (const service of SERVICES) {
      await waitUntil(
        `${service}: its relay published`,
        async () => sample(await workerMetrics(service), 'saga_outbox_published_total', { service }),
        (published) => published > 0,
        20_000,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const sql = (span: ReceivedSpan) => String(span.attributes['db.query.text'] ?? '');
    const relaySpans = receiver.spans.filter(
      (span) =>
        sql(span).includes('pg_try_advisory_xact_lock') ||
        (sql(span).includes('"OutboxEvent"') && sql(span).includes('"publishedAt" IS NULL')),
    );
    expect(relaySpans).toEqual([]);
    const names = new Set(receiver.spans.map((span) => span.name));
    expect(names).toContain('prisma:client:db_query');
    for (const leftOut of [
      'prisma:client:serialize',
      'prisma:client:compile',
      'prisma:client:start_transaction',
    ])
      expect(names).not.toContain(leftOut);
  });

  /** Sum of a metric's samples whose labels include all the given ones. */
  function sample(text: string, name: string, labels: Record<string, string>): number {
    return text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .filter((line) => Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  }

  async function workerMetrics(kind: string): Promise<string> {
    const started = workers
      .output(kind)
      .split('\n')
      .find((line) => line.includes('worker started'));
    const url = (JSON.parse(started ?? '{}') as { metrics?: string }).metrics;
    if (!url) throw new Error(`the ${kind} worker did not log its metrics URL`);
    const response = await fetch(url);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  }

  test('Prometheus metrics on the API and on every worker', async () => {
    // The two sagas above: one completed, one compensated.
    const orchestrator = await workerMetrics('orchestrator');
    expect(sample(orchestrator, 'saga_started_total', { saga: 'order' })).toBeGreaterThanOrEqual(2);
    expect(sample(orchestrator, 'saga_outcomes_total', { outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sample(orchestrator, 'saga_outcomes_total', { outcome: 'compensated' })).toBeGreaterThanOrEqual(1);
    // The Temporal SDK's own runtime metrics, from the Rust core, in the same scrape.
    expect(sample(orchestrator, 'temporal_workflow_completed_total', {})).toBeGreaterThanOrEqual(2);

    const orders = await workerMetrics('orders');
    const count = 'saga_activity_duration_seconds_count';
    expect(
      sample(orders, count, { activity: 'createOrder', kind: 'step', result: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(orders, count, { activity: 'cancelOrder', kind: 'compensation' })).toBeGreaterThanOrEqual(
      1,
    );
    const payments = await workerMetrics('payments');
    expect(
      sample(payments, count, { activity: 'releasePayment', kind: 'compensation' }),
    ).toBeGreaterThanOrEqual(1);
    const shipments = await workerMetrics('shipments');
    expect(
      sample(shipments, count, { activity: 'scheduleShipment', result: 'business_error' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(shipments, 'temporal_activity_execution_latency_count', {})).toBeGreaterThanOrEqual(2);

    const api = await (await fetch(`${apiUrl}/metrics`)).text();
    expect(
      sample(api, 'http_request_duration_seconds_count', {
        method: 'POST',
        path: '/sagas',
        status_code: '200',
      }),
    ).toBeGreaterThanOrEqual(2);
  });

  test('log lines about a saga carry its saga id, run id and trace id', async () => {
    const { sagaId } = await runSaga();
    const root = apiSpans.getFinishedSpans().find((s) => s.attributes['saga.id'] === sagaId)!;
    const traceId = root.spanContext().traceId;
    const request = apiLogLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((l) => l.sagaId === sagaId);
    expect(request).toMatchObject({ sagaId, traceId, req: { method: 'POST', path: '/sagas' } });
    expect(typeof request?.runId).toBe('string');

    const deadline = Date.now() + 10_000;
    let completed: Record<string, unknown> | undefined;
    while (!completed && Date.now() < deadline) {
      completed = workers
        .output('orchestrator')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.sagaId === sagaId && line.msg === 'saga COMPLETED');
      if (!completed) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(completed).toMatchObject({ sagaId, workflowId: sagaId, traceId });
    expect(typeof completed?.runId).toBe('string');
    // Nothing sensitive: no payment token or street address in any worker's log.
    const order = sampleOrder();
    for (const kind of KINDS) {
      expect(workers.output(kind)).not.toContain(order.paymentToken);
      expect(workers.output(kind)).not.toContain(order.shippingAddress.line1);
    }
  });
});
