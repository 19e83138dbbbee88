import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import pino from 'pino';
import { reservationIdOf } from '../../activities/inventory/activities';
import { paymentIdOf } from '../../activities/payments/activities';
import { shipmentIdOf } from '../../activities/shipments/activities';
import type { Schemas } from '../../api/client';
import { orderTimelinesFrom, type OrderTimelines } from '../../api/order-timelines';
import { encodeEvent, ensureStream, subjectOf, type EventBusConfig } from '../../shared/event-bus';
import { outboxRowToEvent } from '../../activities/shared/outbox';
import { domainEventSchema, type DomainEvent } from '../../shared/events';
import { ORDER_HISTORY_CONSUMER } from '../../read-models/order-history/apply';
import { createOrderHistoryDb, type OrderHistoryDb } from '../../read-models/order-history/db';
import { startTcpProxy, type TcpProxy } from '../../tools/chaos/tcp-proxy';
import { closeTestApps, serveTestApp, TEST_API_KEY, type TestApi } from '../support/api';
import { requireEnv, TEST_ENV } from '../support/env';
import {
  eventOf,
  happyPath,
  newOrderId,
  scratchOrderHistoryDatabase,
  startConsumerProcess,
  waitUntil,
  type ConsumerProcess,
} from '../support/order-history';
import { sampleOrder } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';

type Problem = Schemas['Problem'];

/**
 * The order-history read model on the real broker and a real database: its consumer runs as its own
 * process (read-models/order-history/main.ts, under the supervisor `npm start` uses), on a stream, subject
 * prefix and database of this file's own, so nothing else publishing in this test run reaches it. Events
 * are published the way the relay publishes them: subjectOf, encodeEvent, the event id as the message id.
 */
describe('order-history read model', () => {
  const tag = randomUUID().slice(0, 8);
  const bus: EventBusConfig = {
    NATS_URL: requireEnv(TEST_ENV.natsUrl),
    EVENTS_STREAM: `ORDER_HISTORY_TEST_${tag}`,
    EVENTS_SUBJECT_PREFIX: `history-test.${tag}`,
  };
  let database: Awaited<ReturnType<typeof scratchOrderHistoryDatabase>>;
  /** The consumer's database behind a proxy the database-outage test cuts. */
  let proxy: TcpProxy;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let db: OrderHistoryDb;
  let consumer: ConsumerProcess;
  let stack: Stack;
  let server: TestApi;
  let timelines: OrderTimelines;
  const serviceDbs = openServiceDbs();

  const READER_KEY = 'reader-key-0123456789abcdef';
  const OTHER_READER_KEY = 'other-reader-key-0123456789';
  const NO_READ_KEY = 'start-only-key-0123456789ab';

  beforeAll(async () => {
    database = await scratchOrderHistoryDatabase(tag);
    db = createOrderHistoryDb(database.url, 2);
    const direct = new URL(database.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);

    nc = await connect({ servers: bus.NATS_URL });
    await ensureStream(nc, bus);
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);

    consumer = startConsumerProcess(bus, proxied.toString());
    await consumer.waitForLog(/"msg":"consuming"/, 1);

    stack = await startStack();
    timelines = orderTimelinesFrom(database.url, pino({ level: 'silent' }));
    server = await serveTestApp(stack, {
      timelines,
      apiKeys: [
        TEST_API_KEY,
        { key: READER_KEY, scopes: ['sagas:start', 'sagas:read'] },
        { key: OTHER_READER_KEY, scopes: ['sagas:read'] },
        { key: NO_READ_KEY, scopes: ['sagas:start'] },
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await closeTestApps();
    await timelines?.close();
    await stack?.stop();
    await consumer?.processes.stop();
    await jsm?.streams.delete(bus.EVENTS_STREAM).catch(() => undefined);
    await nc?.close();
    await proxy?.close();
    await db?.$disconnect();
    await serviceDbs.close();
    await database?.drop();
  });

  // ------------------------------------------------------------------------------------------ helpers

  /** Publishes as the relay does; returns the stream sequence the broker stored it at. */
  async function publish(event: DomainEvent): Promise<number> {
    const ack = await js.publish(subjectOf(bus, event), encodeEvent(event), { msgID: event.id });
    return ack.seq;
  }

  async function lastStreamSequence(): Promise<number> {
    return (await jsm.streams.info(bus.EVENTS_STREAM)).state.last_seq;
  }

  /** The consumer's recorded position, straight from its table. */
  async function position(): Promise<number | undefined> {
    const row = await db.consumerPosition.findUnique({ where: { consumer: ORDER_HISTORY_CONSUMER } });
    return row ? Number(row.lastStreamSequence) : undefined;
  }

  async function waitForPosition(sequence: number, timeoutMs?: number): Promise<void> {
    await waitUntil('consumer position', position, (p) => p !== undefined && p >= sequence, timeoutMs);
  }

  const getTimeline = (orderId: string, token = TEST_API_KEY) =>
    server.as(token).GET('/orders/{orderId}/timeline', { params: { path: { orderId } } });

  /** An order's events as its services' outboxes hold them, each service's in its order (as its relay publishes). */
  async function outboxEventsOf(orderId: string): Promise<DomainEvent[]> {
    const of = (aggregateId: string) => ({ where: { aggregateId }, orderBy: { sequence: 'asc' as const } });
    const rows = [
      ...(await serviceDbs.orders.outboxEvent.findMany(of(orderId))),
      ...(await serviceDbs.inventory.outboxEvent.findMany(of(reservationIdOf(orderId)))),
      ...(await serviceDbs.payments.outboxEvent.findMany(of(paymentIdOf(orderId)))),
      ...(await serviceDbs.shipments.outboxEvent.findMany(of(shipmentIdOf(orderId)))),
    ];
    return rows.map((row) => domainEventSchema.parse(outboxRowToEvent(row)) as DomainEvent);
  }

  async function rowsOf(orderIds: string[]) {
    return db.timelineEntry.findMany({ where: { orderId: { in: orderIds } }, orderBy: { eventId: 'asc' } });
  }

  // -------------------------------------------------------------------------------------------- tests

  test('applied events make the order timeline, in the order they happened, with the last applied sequence', async () => {
    const orderId = newOrderId();
    const other = newOrderId();
    const events = happyPath(orderId);
    // Published out of order, as several relays would (each service's relay publishes its own outbox):
    // the timeline still follows occurredAt, then the aggregate's sequence.
    const publishOrder = [events[2]!, events[0]!, events[3]!, events[1]!, events[5]!, events[4]!];
    for (const event of publishOrder) await publish(event);
    await publish(eventOf(other, 'order.created', 1, new Date()));
    const last = await lastStreamSequence();
    await waitForPosition(last);

    const { data, response } = await getTimeline(orderId);
    expect(response.status).toBe(200);
    expect(data!.orderId).toBe(orderId);
    expect(data!.consistency).toBe('eventual');
    expect(data!.lastAppliedSequence).toBe(last);
    expect(data!.events.map((e) => e.type)).toEqual([
      'order.created',
      'reservation.reserved',
      'payment.authorized',
      'shipment.scheduled',
      'payment.captured',
      'order.approved',
    ]);
    expect(data!.events).toEqual(
      events.map((e) => ({
        eventId: e.id,
        type: e.type,
        aggregateType: e.aggregateType,
        aggregateId: e.aggregateId,
        sequence: e.sequence,
        occurredAt: e.occurredAt,
        sagaId: e.sagaId,
        payload: e.payload,
      })),
    );
    // Every event of both orders is one row, each under its own order, with the stream sequence it came at.
    const rows = await rowsOf([orderId, other]);
    expect(rows).toHaveLength(7);
    expect(rows.filter((r) => r.orderId === other).map((r) => r.type)).toEqual(['order.created']);
    expect(new Set(rows.map((r) => Number(r.streamSequence))).size).toBe(7);
    expect(await position()).toBe(last);
  });

  test('redelivery: the durable consumer deleted and created again from the first event leaves the timeline unchanged', async () => {
    const orderId = newOrderId();
    for (const event of happyPath(orderId)) await publish(event);
    const last = await lastStreamSequence();
    await waitForPosition(last);
    const before = await db.timelineEntry.findMany({ orderBy: { eventId: 'asc' } });
    const positionBefore = await db.consumerPosition.findMany();
    const { data: timelineBefore } = await getTimeline(orderId);

    // The broker forgets every ack: the consumer process finds its durable consumer gone, creates it
    // again (deliver all) and is sent every event of the stream once more.
    await jsm.consumers.delete(bus.EVENTS_STREAM, ORDER_HISTORY_CONSUMER);
    await consumer.waitForLog(/durable consumer gone/, 1);
    await waitUntil(
      'every event acked again by the new durable consumer',
      () => jsm.consumers.info(bus.EVENTS_STREAM, ORDER_HISTORY_CONSUMER).catch(() => undefined),
      (info) => info !== undefined && info.ack_floor.stream_seq === last && info.num_pending === 0,
    );

    expect(await db.timelineEntry.findMany({ orderBy: { eventId: 'asc' } })).toEqual(before);
    expect(await db.consumerPosition.findMany()).toEqual(positionBefore);
    const { data: timelineAfter } = await getTimeline(orderId);
    expect(timelineAfter).toEqual(timelineBefore);
    // Nothing was lost either: the next event is applied as usual.
    const late = eventOf(orderId, 'order.refund_requested', 3, new Date(Date.now() + 60_000));
    await waitForPosition(await publish(late));
    expect((await getTimeline(orderId)).data!.events.at(-1)!.eventId).toBe(late.id);
  });

  test('the consumer killed (SIGKILL) and restarted resumes where it was acked: nothing lost, nothing twice', async () => {
    const orderId = newOrderId();
    const events = happyPath(orderId);
    for (const event of events.slice(0, 2)) await publish(event);
    await waitForPosition(await lastStreamSequence());
    const starts = consumer.count(/"msg":"consuming"/);

    consumer.processes.supervisor.kill('order-history');
    // Published while it is down (the supervisor restarts it after 1 s, and it takes seconds to start).
    for (const event of events.slice(2)) await publish(event);
    const last = await lastStreamSequence();
    await consumer.waitForLog(/"msg":"consuming"/, starts + 1);
    await waitForPosition(last);

    const rows = await rowsOf([orderId]);
    expect(rows.map((r) => r.eventId).sort()).toEqual(events.map((e) => e.id).sort());
    const { data } = await getTimeline(orderId);
    expect(data!.events.map((e) => e.eventId)).toEqual(events.map((e) => e.id));
    expect(data!.lastAppliedSequence).toBe(last);
    expect(consumer.processes.supervisor.restartsOf('order-history')).toBeGreaterThanOrEqual(1);
  });

  test('a message that is not a domain event is logged in one line and terminated; the events after it are applied', async () => {
    const orderId = newOrderId();
    const card = '4242424242424242';
    const before = consumer.count(/not a domain event: terminated/);
    const badJson = await js.publish(
      `${bus.EVENTS_SUBJECT_PREFIX}.order.created`,
      new TextEncoder().encode('{not json'),
      {
        msgID: randomUUID(),
      },
    );
    // Valid JSON, but the strict payload refuses card data.
    const withCard = {
      ...eventOf(orderId, 'order.created', 1, new Date()),
      payload: { orderId, cardNumber: card },
    };
    const badShape = await js.publish(
      `${bus.EVENTS_SUBJECT_PREFIX}.order.created`,
      new TextEncoder().encode(JSON.stringify(withCard)),
      { msgID: withCard.id },
    );
    const good = eventOf(orderId, 'order.created', 1, new Date());
    await waitForPosition(await publish(good));

    await consumer.waitForLog(/not a domain event: terminated/, before + 2);
    const lines = consumer
      .output()
      .split('\n')
      .filter((line) => line.includes('not a domain event: terminated'))
      .slice(before);
    expect(lines.map((line) => (JSON.parse(line) as { streamSequence: number }).streamSequence)).toEqual([
      badJson.seq,
      badShape.seq,
    ]);
    expect(consumer.output()).not.toContain(card);
    // Terminated: the broker will not deliver them again, and neither left a row.
    const info = await jsm.consumers.info(bus.EVENTS_STREAM, ORDER_HISTORY_CONSUMER);
    expect(info.num_ack_pending).toBe(0);
    expect((await rowsOf([orderId])).map((r) => r.eventId)).toEqual([good.id]);
  });

  test('its database down for 60 s: nothing acked, nothing skipped; every event applied in order once it returns', async () => {
    const orderId = newOrderId();
    const events = happyPath(orderId);
    const startPosition = await position();
    const retriesBefore = consumer.count(/could not apply event/);
    const outage = proxy.outage(60_000);
    for (const event of events) await publish(event);
    const last = await lastStreamSequence();
    // While it is down the broker holds the first unapplied event (nak'ed, redelivered) and nothing after it.
    await consumer.waitForLog(/could not apply event; it will be delivered again/, retriesBefore + 2);
    const during = await jsm.consumers.info(bus.EVENTS_STREAM, ORDER_HISTORY_CONSUMER);
    expect(during.ack_floor.stream_seq).toBe(startPosition);
    expect(await position()).toBe(startPosition);
    await outage;

    await waitForPosition(last, 90_000);
    const { data } = await getTimeline(orderId);
    expect(data!.events.map((e) => e.eventId)).toEqual(events.map((e) => e.id));
    expect(data!.lastAppliedSequence).toBe(last);
    const rows = await rowsOf([orderId]);
    // Applied in stream order, one at a time: each row's stream sequence is the one it was published at.
    expect(rows.map((r) => Number(r.streamSequence)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: events.length }, (_, i) => last - events.length + 1 + i),
    );
    // The process running now (an earlier test restarted it) logged its metrics address last.
    const metricsUrl = consumer.metricsUrl();
    const metrics = await (await fetch(metricsUrl!)).text();
    expect(Number(/saga_read_model_retries_total\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
  }, 180_000);

  test('a compensated saga: its outbox events, published as the relay does, are its timeline; the API asks the scope and the owner', async () => {
    // A real saga through the API as READER_KEY: declined, so it compensates.
    const { data: started } = await server.as(READER_KEY).POST('/sagas', {
      params: { query: { waitSeconds: 30 } },
      body: sampleOrder({ paymentToken: 'tok_chargeDeclined' }),
    });
    expect(started!.status).toBe('COMPENSATED');
    const orderId = started!.orderId;
    for (const event of await outboxEventsOf(orderId)) await publish(event);
    await waitForPosition(await lastStreamSequence());

    const { data } = await getTimeline(orderId, READER_KEY);
    expect(data!.events.map((e) => e.type)).toEqual([
      'order.created',
      'reservation.reserved',
      'payment.declined',
      'reservation.released',
      'order.cancelled',
    ]);
    expect(data!.events.every((e) => e.sagaId === started!.sagaId)).toBe(true);
    expect(JSON.stringify(data)).not.toContain('tok_');
    // An operator sees every order's timeline.
    expect((await getTimeline(orderId, TEST_API_KEY)).response.status).toBe(200);

    // Another caller without sagas:operate: 404, the same answer as an order with no event applied.
    const foreign = await getTimeline(orderId, OTHER_READER_KEY);
    const unknown = await getTimeline(newOrderId(), OTHER_READER_KEY);
    for (const answer of [foreign, unknown]) {
      expect(answer.response.status).toBe(404);
      expect(answer.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((answer.error as Problem).detail).toMatch(/eventually consistent/);
    }
    expect((foreign.error as Problem).type).toBe((unknown.error as Problem).type);

    // A malformed order id: 400 naming the field.
    const malformed = await getTimeline('ord_not-hex!', TEST_API_KEY);
    expect(malformed.response.status).toBe(400);
    expect(malformed.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((malformed.error as Problem).errors?.map((e) => e.field)).toEqual(['path.orderId']);

    // No credential: 401; a key without sagas:read: 403 naming it.
    const anonymous = await server.as().GET('/orders/{orderId}/timeline', { params: { path: { orderId } } });
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const noScope = await getTimeline(orderId, NO_READ_KEY);
    expect(noScope.response.status).toBe(403);
    expect(noScope.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((noScope.error as Problem).detail).toContain('sagas:read');
  });
});
