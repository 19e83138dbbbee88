import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { createInventoryDb } from '../../activities/inventory/db';
import { createOrdersDb } from '../../activities/orders/db';
import { createPaymentsDb } from '../../activities/payments/db';
import { startOutboxRelay, type OutboxRelay } from '../../activities/shared/outbox-relay';
import { createShipmentsDb } from '../../activities/shipments/db';
import { startNatsServer, type NatsServer } from '../../scripts/nats/nats-server';
import { freePort } from '../../scripts/lib/ports';
import { SERVICES, type ServiceName } from '../../shared/config';
import { decodeEvent, eventBusConfigSchema, type EventBusConfig } from '../../shared/event-bus';
import type { DomainEvent } from '../../shared/events';
import { createLogger } from '../../shared/logger';
import { startTcpProxy, type TcpProxy } from '../../tools/chaos/tcp-proxy';
import { requireEnv, TEST_ENV } from '../support/env';
import { sampleOrder, startSaga } from '../support/orders';
import { startWorkers, workerProcessEnv, type TestProcesses } from '../support/processes';
import { openServiceDbs } from '../support/rows';
import { dbEnv, startStack, type Stack } from '../support/stack';

const BROKER_OUTAGE_MS = 60_000;
const DATABASE_OUTAGE_MS = 30_000;

/** One saga down each path: completed, and every kind of compensation. */
function sagaPaths() {
  const order = sampleOrder();
  return {
    completed: order,
    declined: sampleOrder({ paymentToken: 'tok_chargeDeclined' }),
    outOfStock: { ...order, items: [...order.items, { sku: 'never-stocked', quantity: 1, unitPrice: 100 }] },
    shipmentFailed: { ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } },
    lastStepFailed: sampleOrder({ customerId: 'hold-7' }),
  };
}

type Dbs = ReturnType<typeof openServiceDbs>;

interface Row {
  id: string;
  aggregateType: string;
  aggregateId: string;
  sequence: number;
  sagaId: string;
  publishedAt: Date | null;
}

/** The outbox rows of these sagas in every service's database. */
async function outboxRows(dbs: Dbs, sagaIds: string[]): Promise<Row[]> {
  const where = { where: { sagaId: { in: sagaIds } } };
  const found = await Promise.all([
    dbs.orders.outboxEvent.findMany(where),
    dbs.payments.outboxEvent.findMany(where),
    dbs.shipments.outboxEvent.findMany(where),
    dbs.inventory.outboxEvent.findMany(where),
  ]);
  return found.flat();
}

/** Waits until every outbox row of these sagas is marked published; returns them. */
async function whenAllPublished(dbs: Dbs, sagaIds: string[], timeoutMs = 180_000): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await outboxRows(dbs, sagaIds);
    if (rows.length > 0 && rows.every((row) => row.publishedAt !== null)) return rows;
    if (Date.now() > deadline) {
      const waiting = rows.filter((row) => row.publishedAt === null).length;
      throw new Error(`${waiting} of ${rows.length} outbox rows still unpublished`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every message of the stream, in stream order (an ordered consumer from its first message). */
async function streamEvents(bus: Pick<EventBusConfig, 'NATS_URL' | 'EVENTS_STREAM'>): Promise<DomainEvent[]> {
  const nc = await connect({ servers: bus.NATS_URL });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(bus.EVENTS_STREAM);
    if (info.state.messages === 0) return [];
    const consumer = await jetstream(nc).consumers.get(bus.EVENTS_STREAM);
    const messages = await consumer.consume();
    const events: DomainEvent[] = [];
    for await (const message of messages) {
      events.push(decodeEvent(message.data));
      if (message.info.pending === 0) break;
    }
    messages.stop();
    return events;
  } finally {
    await nc.close();
  }
}

/**
 * What the stream holds of these sagas matches their outbox rows: each row exactly once, under its id,
 * and each aggregate's events in sequence order 1..n.
 */
function expectStreamMatchesRows(stream: DomainEvent[], rows: Row[]): void {
  const sagaIds = new Set(rows.map((row) => row.sagaId));
  const ours = stream.filter((event) => sagaIds.has(event.sagaId));
  expect(ours.map((event) => event.id).sort()).toEqual(rows.map((row) => row.id).sort());
  expect(new Set(ours.map((event) => event.id)).size).toBe(ours.length);
  const byAggregate = new Map<string, number[]>();
  for (const event of ours) {
    const key = `${event.aggregateType}:${event.aggregateId}`;
    byAggregate.set(key, [...(byAggregate.get(key) ?? []), event.sequence]);
  }
  for (const sequences of byAggregate.values()) {
    expect(sequences).toEqual(sequences.map((_, i) => i + 1));
  }
}

async function runAllPaths(stack: Stack): Promise<string[]> {
  const handles = await Promise.all(Object.values(sagaPaths()).map((order) => startSaga(stack, order)));
  const outcomes = await Promise.all(handles.map((handle) => handle.result()));
  expect(outcomes.map((outcome) => outcome.status)).toEqual([
    'COMPLETED',
    'COMPENSATED',
    'COMPENSATED',
    'COMPENSATED',
    'COMPENSATED',
  ]);
  return handles.map((handle) => handle.workflowId);
}

/**
 * The relay as it ships: inside each service's worker process (`npm run worker -- <service>`), on the
 * run's broker and stream.
 */
describe('outbox relay in the service worker processes', () => {
  let stack: Stack;
  let workers: TestProcesses;
  const dbs = openServiceDbs();
  const bus = {
    NATS_URL: requireEnv(TEST_ENV.natsUrl),
    EVENTS_STREAM: requireEnv(TEST_ENV.eventsStream),
  };

  beforeAll(async () => {
    stack = await startStack({ services: [] });
    workers = startWorkers(SERVICES, workerProcessEnv(stack));
    await Promise.all(SERVICES.map((service) => workers.waitForWorkerStart(service, 1, 120_000)));
  }, 180_000);
  afterAll(async () => {
    await workers?.stop();
    await stack?.stop();
    await dbs.close();
  });

  test('happy path and every compensation path: each outbox row on the stream exactly once, in order', async () => {
    const sagaIds = await runAllPaths(stack);
    const rows = await whenAllPublished(dbs, sagaIds);
    // 6 + 5 + 2 + 6 + 9 events (outbox.test.ts checks each path's events against the ledgers).
    expect(rows).toHaveLength(28);
    expectStreamMatchesRows(await streamEvents(bus), rows);

    // The worker counts what it published on its own /metrics.
    const metricsUrl = /"metrics":"([^"]+)"/.exec(workers.output('orders'))?.[1];
    expect(metricsUrl).toBeDefined();
    const text = await (await fetch(metricsUrl!)).text();
    const published = /^saga_outbox_published_total\{[^}]*service="orders"[^}]*\} (\d+)/m.exec(text);
    expect(Number(published?.[1])).toBeGreaterThanOrEqual(
      rows.filter((r) => r.aggregateType === 'order').length,
    );
    expect(text).toMatch(/^saga_outbox_backlog\{[^}]*service="orders"[^}]*\} \d+/m);
    expect(text).toMatch(/^saga_outbox_lag_seconds\{[^}]*service="orders"[^}]*\} [\d.e+-]+/m);
  }, 300_000);
});

const CREATE_DB = {
  orders: createOrdersDb,
  payments: createPaymentsDb,
  shipments: createShipmentsDb,
  inventory: createInventoryDb,
} as const;

/**
 * The relay's faults, on a broker of this file's own (stopped and restarted on its port and store) and
 * with the orders relay reaching its database through a proxy this file cuts. The sagas run on in-process
 * workers without relays; the relays run in this process, one per service, as the workers start them.
 */
describe('outbox relay under faults', () => {
  let stack: Stack;
  let nats: NatsServer;
  let proxy: TcpProxy;
  let storeDir: string;
  let bus: EventBusConfig;
  const dbs = openServiceDbs();
  const relayDbs = {} as Record<ServiceName, ReturnType<(typeof CREATE_DB)[ServiceName]>>;
  let relays: { relay: OutboxRelay; registry: Registry }[] = [];
  const logLines: string[] = [];

  function startRelays() {
    relays = SERVICES.map((service) => {
      const registry = new Registry();
      const log = createLogger(`relay-${service}`, 'info', { write: (line: string) => logLines.push(line) });
      return {
        registry,
        relay: startOutboxRelay({ service, db: relayDbs[service], bus, metrics: registry, log }),
      };
    });
  }
  async function stopRelays() {
    await Promise.all(relays.map(({ relay }) => relay.stop()));
    relays = [];
  }
  /** A metric's value per service, summed over the relays' registries. */
  async function metricOf(name: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const { registry } of relays) {
      for (const { labels, value } of (await registry.getSingleMetric(name)?.get())?.values ?? []) {
        out[String(labels.service)] = (out[String(labels.service)] ?? 0) + value;
      }
    }
    return out;
  }

  beforeAll(async () => {
    storeDir = mkdtempSync(path.join(tmpdir(), 'saga-relay-nats-'));
    nats = await startNatsServer({ port: await freePort(), storeDir });
    bus = eventBusConfigSchema.parse({ NATS_URL: nats.url, EVENTS_STREAM: 'RELAY_FAULTS' });
    const direct = new URL(requireEnv(dbEnv('orders')));
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(direct);
    proxied.port = String(proxy.port);
    for (const service of SERVICES) {
      const url = service === 'orders' ? proxied.toString() : requireEnv(dbEnv(service));
      Object.assign(relayDbs, { [service]: CREATE_DB[service](url, 2) });
    }
    stack = await startStack();
    startRelays();
  }, 180_000);
  afterAll(async () => {
    await stopRelays();
    await stack?.stop();
    await nats?.stop();
    await proxy?.close();
    await Promise.all(Object.values(relayDbs).map((db) => db.$disconnect()));
    await dbs.close();
    rmSync(storeDir, { recursive: true, force: true });
  });

  test('killed between publish and mark: published again, the broker drops every duplicate', async () => {
    const sagaIds = await runAllPaths(stack);
    const rows = await whenAllPublished(dbs, sagaIds);
    const before = await streamEvents(bus);
    expectStreamMatchesRows(before, rows);

    // What a relay that died after its PubAcks and before its commit leaves: acked rows still unmarked.
    await stopRelays();
    for (const service of SERVICES) {
      await dbs[service].outboxEvent.updateMany({
        where: { sagaId: { in: sagaIds } },
        data: { publishedAt: null },
      });
    }
    startRelays();
    const again = await whenAllPublished(dbs, sagaIds);
    expect(again.map((row) => row.id).sort()).toEqual(rows.map((row) => row.id).sort());
    const after = await streamEvents(bus);
    expectStreamMatchesRows(after, rows);
    expect(after.filter((e) => sagaIds.includes(e.sagaId))).toHaveLength(rows.length);
    // They were published again (acknowledged as duplicates), not merely marked.
    const published = await metricOf('saga_outbox_published_total');
    expect(Object.values(published).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(rows.length);
  }, 300_000);

  test('broker stopped for 60 s: sagas complete, events wait, then all arrive in order', async () => {
    const paths = Object.values(sagaPaths());
    const early = await Promise.all(paths.map((order) => startSaga(stack, order)));
    const stoppedAt = Date.now();
    await nats.stop();
    // Sagas started during the outage: every one of their events is written while the broker is down.
    const during = await Promise.all(paths.map((order) => startSaga(stack, order)));
    const handles = [...early, ...during];
    const outcomes = await Promise.all(handles.map((handle) => handle.result()));
    expect(outcomes.filter((o) => o.status === 'COMPLETED')).toHaveLength(2);
    const sagaIds = handles.map((handle) => handle.workflowId);

    const waiting = await outboxRows(
      dbs,
      during.map((handle) => handle.workflowId),
    );
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.every((row) => row.publishedAt === null)).toBe(true);
    const backlog = await metricOf('saga_outbox_backlog');
    for (const service of SERVICES) expect(backlog[service]).toBeGreaterThan(0);
    expect(Math.max(...Object.values(await metricOf('saga_outbox_lag_seconds')))).toBeGreaterThan(0);

    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, stoppedAt + BROKER_OUTAGE_MS - Date.now())),
    );
    expect(Object.values(await metricOf('saga_outbox_publish_failures_total')).every((n) => n > 0)).toBe(
      true,
    );
    nats = await startNatsServer({ port: nats.port, storeDir });
    const rows = await whenAllPublished(dbs, sagaIds);
    expectStreamMatchesRows(await streamEvents(bus), rows);
    expect(await metricOf('saga_outbox_backlog')).toEqual({
      orders: 0,
      payments: 0,
      shipments: 0,
      inventory: 0,
    });
    expect(await metricOf('saga_outbox_lag_seconds')).toEqual({
      orders: 0,
      payments: 0,
      shipments: 0,
      inventory: 0,
    });
  }, 400_000);

  test('orders database unreachable for the relay: it logs one line per retry and then publishes all', async () => {
    logLines.length = 0;
    const outage = proxy.outage(DATABASE_OUTAGE_MS);
    // The workers reach the database directly: the sagas complete; only the relay cannot read.
    const handles = await Promise.all(Object.values(sagaPaths()).map((order) => startSaga(stack, order)));
    await Promise.all(handles.map((handle) => handle.result()));
    const sagaIds = handles.map((handle) => handle.workflowId);
    await outage;

    const rows = await whenAllPublished(dbs, sagaIds);
    expectStreamMatchesRows(await streamEvents(bus), rows);
    const warnings = logLines
      .map((line) => JSON.parse(line) as { level: number; msg: string; process: string })
      .filter((line) => line.level === 40);
    expect(
      warnings.some((w) => w.process === 'relay-orders' && /^outbox relay: .+; retrying/.test(w.msg)),
    ).toBe(true);
    // One line each, no stack trace; the other services' relays were not disturbed.
    expect(warnings.every((w) => !w.msg.includes('\n') && !/\bat .+:\d+:\d+/.test(w.msg))).toBe(true);
    expect(warnings.every((w) => w.process === 'relay-orders')).toBe(true);
  }, 300_000);
});
