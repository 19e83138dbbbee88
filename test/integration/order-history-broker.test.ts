import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { ORDER_HISTORY_CONSUMER } from '../../read-models/order-history/apply';
import { createOrderHistoryDb, type OrderHistoryDb } from '../../read-models/order-history/db';
import { readTimeline } from '../../read-models/order-history/timeline';
import { freePort } from '../../scripts/lib/ports';
import { startNatsServer, type NatsServer } from '../../scripts/nats/nats-server';
import {
  connectEventBus,
  encodeEvent,
  ensureStream,
  eventBusConfigSchema,
  subjectOf,
  type EventBusConfig,
} from '../../shared/event-bus';
import type { DomainEvent } from '../../shared/events';
import {
  happyPath,
  newOrderId,
  scratchOrderHistoryDatabase,
  startConsumerProcess,
  waitUntil,
  type ConsumerProcess,
} from '../support/order-history';

/**
 * The order-history consumer across a broker outage of 60 s: a nats-server of this test's own (file store
 * under test-output/), stopped and started again on the same port and store while the consumer process
 * runs with the shipped settings. The consumer must ride it out (no restart of its process) and apply
 * every event published before and after, once each.
 */
describe('order-history read model: broker restart', () => {
  const tag = randomUUID().slice(0, 8);
  const storeDir = path.resolve(__dirname, '../../test-output', `nats-order-history-${tag}`);
  let port: number;
  let broker: NatsServer;
  let bus: EventBusConfig;
  let database: Awaited<ReturnType<typeof scratchOrderHistoryDatabase>>;
  let db: OrderHistoryDb;
  let consumer: ConsumerProcess;
  let publisher: NatsConnection;

  beforeAll(async () => {
    port = await freePort();
    broker = await startNatsServer({ port, storeDir });
    // Its own broker: the shipped stream and subject names.
    bus = eventBusConfigSchema.parse({ NATS_URL: broker.url });
    database = await scratchOrderHistoryDatabase(tag);
    db = createOrderHistoryDb(database.url, 2);
    publisher = await connectEventBus(bus, 'order-history-test-publisher');
    await ensureStream(publisher, bus);
    consumer = startConsumerProcess(bus, database.url);
    await consumer.waitForLog(/"msg":"consuming"/, 1);
  }, 120_000);

  afterAll(async () => {
    await consumer?.processes.stop();
    await publisher?.close();
    await broker?.stop();
    await db?.$disconnect();
    await database?.drop();
  });

  /** Publishes as the relay does, retrying while the publisher's connection is still coming back. */
  async function publish(event: DomainEvent): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await jetstream(publisher).publish(subjectOf(bus, event), encodeEvent(event), {
          msgID: event.id,
        });
        return ack.seq;
      } catch (error) {
        if (attempt >= 60) throw error;
        await sleep(1000);
      }
    }
  }

  async function position(): Promise<number> {
    const row = await db.consumerPosition.findUnique({ where: { consumer: ORDER_HISTORY_CONSUMER } });
    return Number(row?.lastStreamSequence ?? 0);
  }

  test('the broker stopped for 60 s and started again: the consumer process keeps running and applies every event once', async () => {
    const orderId = newOrderId();
    const events = happyPath(orderId);
    for (const event of events.slice(0, 3)) await publish(event);
    await waitUntil('events before the outage applied', position, (p) => p === 3);

    await broker.stop();
    await consumer.waitForLog(/event bus disconnected/, 1);
    await sleep(60_000);
    broker = await startNatsServer({ port, storeDir });
    const last = await (async () => {
      let seq = 0;
      for (const event of events.slice(3)) seq = await publish(event);
      return seq;
    })();
    expect(last).toBe(6); // the stream came back from its file store with the first three
    await waitUntil('events after the outage applied', position, (p) => p === last, 90_000);

    const timeline = await readTimeline(db, orderId);
    expect(timeline?.events.map((e) => e.eventId)).toEqual(events.map((e) => e.id));
    expect(timeline?.lastAppliedSequence).toBe(6);
    expect(await db.timelineEntry.count()).toBe(6);
    // It rode the outage out: never restarted, it reconnected.
    expect(consumer.processes.supervisor.restartsOf('order-history')).toBe(0);
    expect(consumer.output()).toMatch(/event bus reconnected/);
  }, 240_000);
});
