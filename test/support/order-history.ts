import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { reservationIdOf } from '../../activities/inventory/activities';
import { paymentIdOf } from '../../activities/payments/activities';
import { shipmentIdOf } from '../../activities/shipments/activities';
import { dropDatabaseIfExists, ensureDatabase } from '../../scripts/db/ensure-database';
import { applyMigrations } from '../../scripts/db/migrate';
import type { EventBusConfig } from '../../shared/event-bus';
import { domainEventSchema, EVENT_DEFINITIONS, type DomainEvent, type EventType } from '../../shared/events';
import { requireEnv, TEST_ENV } from './env';
import { startProcesses, type TestProcesses } from './processes';

/** Polls `read` until `done` holds; fails naming `what` and the last value. */
export async function waitUntil<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached; last ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

/** A migrated order-history database of the caller's own (next to the run's), dropped by drop(). */
export async function scratchOrderHistoryDatabase(
  tag: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const url = new URL(requireEnv(TEST_ENV.orderHistoryDb));
  url.pathname = `${url.pathname}_${tag}`;
  await ensureDatabase(url.toString());
  await applyMigrations(url.toString(), path.resolve(__dirname, '../../prisma/order-history/migrations'));
  return { url: url.toString(), drop: () => dropDatabaseIfExists(url.toString()) };
}

export interface ConsumerProcess {
  processes: TestProcesses;
  output(): string;
  /** Waits until the output matched `pattern` `times` times over all the process's runs. */
  waitForLog(pattern: RegExp, times: number, timeoutMs?: number): Promise<void>;
  /** How often the output matched `pattern` so far. */
  count(pattern: RegExp): number;
  /** The /metrics address the running process logged (the last one: a restart picks a new port). */
  metricsUrl(): string | undefined;
}

/** read-models/order-history/main.ts as its own process, under the supervisor npm start uses (never giving up). */
export function startConsumerProcess(bus: EventBusConfig, databaseUrl: string): ConsumerProcess {
  const processes = startProcesses(
    [
      {
        name: 'order-history',
        entry: 'read-models/order-history/main.ts',
        env: {
          ...process.env,
          ...bus,
          ORDER_HISTORY_DATABASE_URL: databaseUrl,
          METRICS_PORT: '0',
          LOG_LEVEL: 'info',
        },
      },
    ],
    // npm start's restart policy, but the tests kill it on purpose: never give up on it.
    { maxCrashes: Number.POSITIVE_INFINITY },
  );
  const output = () => processes.output('order-history');
  const count = (pattern: RegExp) => (output().match(new RegExp(pattern.source, 'g')) ?? []).length;
  return {
    processes,
    output,
    count,
    async waitForLog(pattern, times, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      while (count(pattern) < times) {
        if (Date.now() > deadline) throw new Error(`consumer did not log ${pattern} ${times}x: ${output()}`);
        await sleep(100);
      }
    },
    metricsUrl: () => [...output().matchAll(/"metrics":"(http:[^"]+)"/g)].at(-1)?.[1],
  };
}

/**
 * A valid event of one order's aggregate (shared/events.ts schemas). `at` orders the timeline: the
 * database clock of the effect, as the services stamp it.
 */
export function eventOf(
  orderId: string,
  type: EventType,
  sequence: number,
  at: Date,
  sagaId = `order-${orderId.slice(4)}`,
): DomainEvent {
  const aggregateType = EVENT_DEFINITIONS[type].aggregateType;
  const ids = {
    order: orderId,
    payment: paymentIdOf(orderId),
    shipment: shipmentIdOf(orderId),
    reservation: reservationIdOf(orderId),
  };
  const money = { amount: 2800, currency: 'EUR' };
  const items = [{ sku: 'book-1', quantity: 2 }];
  const payloads: Record<typeof aggregateType, Record<string, unknown>> = {
    order:
      type === 'order.created'
        ? {
            orderId,
            customerId: 'cust-42',
            currency: 'EUR',
            totalAmount: 2800,
            items: [{ sku: 'book-1', quantity: 2, unitPrice: 1400 }],
          }
        : { orderId },
    payment:
      type === 'payment.declined'
        ? { paymentId: ids.payment, orderId, ...money, reason: 'card declined' }
        : { paymentId: ids.payment, orderId, ...money },
    shipment:
      type === 'shipment.scheduled'
        ? { shipmentId: ids.shipment, orderId, trackingNumber: `TRK-${orderId}` }
        : { shipmentId: ids.shipment, orderId },
    reservation: { reservationId: ids.reservation, orderId, items },
  };
  return domainEventSchema.parse({
    id: randomUUID(),
    type,
    aggregateType,
    aggregateId: ids[aggregateType],
    sequence,
    occurredAt: at.toISOString(),
    sagaId,
    payload: payloads[aggregateType],
  }) as DomainEvent;
}

/** An order's happy path, one second apart from `start`: each aggregate numbered 1..n. */
export function happyPath(orderId: string, start = Date.now()): DomainEvent[] {
  const at = (s: number) => new Date(start + s * 1000);
  return [
    eventOf(orderId, 'order.created', 1, at(0)),
    eventOf(orderId, 'reservation.reserved', 1, at(1)),
    eventOf(orderId, 'payment.authorized', 1, at(2)),
    eventOf(orderId, 'shipment.scheduled', 1, at(3)),
    eventOf(orderId, 'payment.captured', 2, at(4)),
    eventOf(orderId, 'order.approved', 2, at(5)),
  ];
}

export const newOrderId = () => `ord_${randomUUID()}`;
