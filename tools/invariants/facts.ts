import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EventBusConfig } from '../../shared/event-bus';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { OrdersDb } from '../../activities/orders/db';
import type { PaymentsDb } from '../../activities/payments/db';
import type { ShipmentsDb } from '../../activities/shipments/db';
import type { InventoryDb } from '../../activities/inventory/db';
import { reservationIdOf } from '../../activities/inventory/activities';
import type { SagaOutcome, SagaStatus } from '../../shared/saga-state';
import { orderIdKey, sagaStatusKey } from '../../shared/search-attributes';
import { paymentIdOf } from '../../activities/payments/activities';
import { shipmentIdOf } from '../../activities/shipments/activities';
import { sagaStateQuery } from '../../workflows/saga/messages';
import type { Effect, SagaFacts } from './rules';
import type { OutboxFact } from './outbox-rules';
import type { AggregateType } from '../../shared/events';
import type { SagaStory } from './would-complete';

export interface Sources {
  client: Client;
  /** The broker the relays publish to: given, the checker compares the events stream with the outboxes. */
  eventBus?: { nc: NatsConnection; config: EventBusConfig };
  orders: OrdersDb;
  payments: PaymentsDb;
  shipments: ShipmentsDb;
  inventory: InventoryDb;
}

/** Every saga of a type Temporal visibility knows of (optionally narrowed, e.g. `TaskQueue = 'x'`). */
export async function listSagas(
  client: Client,
  narrow?: string,
  workflowType: 'orderSaga' | 'refundSaga' = 'orderSaga',
): Promise<WorkflowExecutionInfo[]> {
  const query = [`WorkflowType = '${workflowType}'`, narrow].filter(Boolean).join(' AND ');
  const sagas: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query })) sagas.push(info);
  return sagas;
}

const CHUNK = 1000;
async function inChunks<T>(ids: string[], read: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) out.push(...(await read(ids.slice(i, i + CHUNK))));
  return out;
}

const effectOf = (
  service: string,
  row: { operation: string; outcome: unknown; createdAt: Date },
): Effect => ({
  operation: `${service}.${row.operation}`,
  effect: String((row.outcome as { effect?: unknown } | null)?.effect ?? 'none'),
  at: row.createdAt.getTime(),
});

/** The aggregates of the given orders: the order, its payment, its shipment and its stock reservation. */
function aggregateIdsOf(orderIds: string[]) {
  return {
    orderIds,
    paymentIds: orderIds.map(paymentIdOf),
    shipmentIds: orderIds.map(shipmentIdOf),
    reservationIds: orderIds.map(reservationIdOf),
  };
}

const OUTBOX_FIELDS = {
  id: true,
  type: true,
  aggregateType: true,
  aggregateId: true,
  sequence: true,
  sagaId: true,
} as const;

/** Every outbox event of the given orders' aggregates, whichever saga wrote it, from each service's outbox. */
export async function readOutboxEvents(
  sources: Omit<Sources, 'client'>,
  orderIds: string[],
): Promise<OutboxFact[]> {
  const ids = aggregateIdsOf(orderIds);
  // The aggregate type leads the outbox's unique index (aggregateType, aggregateId, sequence).
  const where = (aggregateType: AggregateType, c: string[]) => ({
    where: { aggregateType, aggregateId: { in: c } },
    select: OUTBOX_FIELDS,
  });
  const rows = await Promise.all([
    inChunks(ids.orderIds, (c) => sources.orders.outboxEvent.findMany(where('order', c))),
    inChunks(ids.paymentIds, (c) => sources.payments.outboxEvent.findMany(where('payment', c))),
    inChunks(ids.shipmentIds, (c) => sources.shipments.outboxEvent.findMany(where('shipment', c))),
    inChunks(ids.reservationIds, (c) => sources.inventory.outboxEvent.findMany(where('reservation', c))),
  ]);
  return rows.flat();
}

/**
 * Reads each saga's rows and effect ledger from the service databases, in bulk. A saga id may be
 * re-used by a later run (after Temporal's retention), so rows are picked by the run's order id, from
 * its OrderId search attribute: every row of a run is that order's, its payment's (paymentIdOf), its
 * shipment's (shipmentIdOf) or its stock reservation's (reservationIdOf). A saga without an OrderId gets no rows (and fails the checks that need them).
 * Several sagas act on one order (its order saga, then its refund): each gets the effects its own ledger
 * rows record (their sagaId), and the same rows.
 */
export async function gatherFacts(sources: Sources, sagas: WorkflowExecutionInfo[]): Promise<SagaFacts[]> {
  const orderIdOf = new Map(
    sagas.map((s) => [s, s.typedSearchAttributes.get(orderIdKey) as string | undefined] as const),
  );
  const orderIds = [...new Set([...orderIdOf.values()].filter((id): id is string => Boolean(id)))];
  const { paymentIds, shipmentIds, reservationIds } = aggregateIdsOf(orderIds);
  const [orders, payments, shipments, reservations, orderOps, paymentOps, shipmentOps, inventoryOps, events] =
    await Promise.all([
      inChunks(orderIds, (c) => sources.orders.order.findMany({ where: { id: { in: c } } })),
      inChunks(paymentIds, (c) => sources.payments.payment.findMany({ where: { id: { in: c } } })),
      inChunks(shipmentIds, (c) => sources.shipments.shipment.findMany({ where: { id: { in: c } } })),
      inChunks(reservationIds, (c) => sources.inventory.reservation.findMany({ where: { id: { in: c } } })),
      inChunks(orderIds, (c) => sources.orders.orderOperation.findMany({ where: { orderId: { in: c } } })),
      inChunks(paymentIds, (c) =>
        sources.payments.paymentOperation.findMany({ where: { paymentId: { in: c } } }),
      ),
      inChunks(shipmentIds, (c) =>
        sources.shipments.shipmentOperation.findMany({ where: { shipmentId: { in: c } } }),
      ),
      inChunks(reservationIds, (c) =>
        sources.inventory.inventoryOperation.findMany({ where: { reservationId: { in: c } } }),
      ),
      readOutboxEvents(sources, orderIds),
    ]);
  const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
  const order = byId(orders);
  const payment = byId(payments);
  const shipment = byId(shipments);
  const reservation = byId(reservations);
  const effects = new Map<string, Effect[]>();
  const key = (sagaId: string, id: string) => `${sagaId}|${id}`;
  const add = (sagaId: string, id: string, effect: Effect) =>
    effects.set(key(sagaId, id), [...(effects.get(key(sagaId, id)) ?? []), effect]);
  for (const row of orderOps) add(row.sagaId, row.orderId, effectOf('order', row));
  for (const row of paymentOps) add(row.sagaId, row.paymentId, effectOf('payment', row));
  for (const row of shipmentOps) add(row.sagaId, row.shipmentId, effectOf('shipment', row));
  for (const row of inventoryOps) add(row.sagaId, row.reservationId, effectOf('inventory', row));
  const eventsOf = new Map<string, OutboxFact[]>();
  for (const event of events) {
    const k = key(event.sagaId, event.aggregateId);
    eventsOf.set(k, [...(eventsOf.get(k) ?? []), event]);
  }
  return sagas.map((info) => {
    const orderId = orderIdOf.get(info);
    const paymentId = orderId ? paymentIdOf(orderId) : undefined;
    const shipmentId = orderId ? shipmentIdOf(orderId) : undefined;
    const reservationId = orderId ? reservationIdOf(orderId) : undefined;
    return {
      sagaId: info.workflowId,
      runId: info.runId,
      orderId,
      status: info.typedSearchAttributes.get(sagaStatusKey) as SagaStatus | undefined,
      temporalStatus: info.status.name,
      startedAt: info.startTime.getTime(),
      order: (orderId && order.get(orderId)) || null,
      payment: (paymentId && payment.get(paymentId)) || null,
      shipment: (shipmentId && shipment.get(shipmentId)) || null,
      reservation: (reservationId && reservation.get(reservationId)) || null,
      effects: [orderId, paymentId, shipmentId, reservationId].flatMap((id) =>
        id ? (effects.get(key(info.workflowId, id)) ?? []) : [],
      ),
      events: [orderId, paymentId, shipmentId, reservationId].flatMap((id) =>
        id ? (eventsOf.get(key(info.workflowId, id)) ?? []) : [],
      ),
    };
  });
}

/** The compensation mode a saga ran with, asked of the saga itself (only needed for out-of-order compensations). */
export async function compensationModeOf(
  client: Client,
  sagaId: string,
  runId?: string,
): Promise<'sequential' | 'parallel' | undefined> {
  try {
    return (await client.workflow.getHandle(sagaId, runId).query(sagaStateQuery)).compensationMode;
  } catch {
    return undefined;
  }
}

/**
 * What a saga was asked to do and why it went backwards, from the saga itself: its start input and its
 * result are read from its Temporal history and decoded with the client's data converter (encrypted like
 * every payload); a saga still running (parked) is asked for its state instead.
 */
export async function sagaStory(
  client: Client,
  sagaId: string,
  status: SagaStatus | undefined,
): Promise<SagaStory> {
  const story: SagaStory = { sagaId, status };
  const converter = client.workflow.options.loadedDataConverter;
  const handle = client.workflow.getHandle(sagaId);
  try {
    const events = (await handle.fetchHistory()).events ?? [];
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    if (started) story.input = await decodeFromPayloadsAtIndex(converter, 0, started.input?.payloads);
    story.cancelRequested = events.some((e) => e.workflowExecutionCancelRequestedEventAttributes);
    const completed = events.find(
      (e) => e.workflowExecutionCompletedEventAttributes,
    )?.workflowExecutionCompletedEventAttributes;
    if (completed) {
      const outcome = await decodeFromPayloadsAtIndex<SagaOutcome>(converter, 0, completed.result?.payloads);
      story.failure = outcome.failure;
    }
  } catch {
    // Left undefined: the classification says "undetermined" rather than guess.
  }
  if (!story.failure && status !== 'COMPLETED') {
    try {
      story.failure = (await handle.query(sagaStateQuery)).failure;
    } catch {
      // No worker to answer the query (or the saga is gone): as above.
    }
  }
  return story;
}

export interface StockImbalance {
  sku: string;
  available: number;
  onHand: number;
  /** Units held by RESERVED reservations. */
  held: number;
}

/**
 * SKUs whose units do not add up: available plus held by RESERVED reservations must be the units on
 * hand, whatever sagas ran (one statement, so one consistent snapshot while sagas keep running).
 */
export async function stockImbalances(inventory: InventoryDb): Promise<StockImbalance[]> {
  return inventory.$queryRaw<StockImbalance[]>`
    WITH held AS (
      SELECT line->>'sku' AS sku, SUM((line->>'quantity')::int)::int AS units
      FROM "Reservation" r, jsonb_array_elements(r.items) line
      WHERE r.status = 'RESERVED'
      GROUP BY 1
    )
    SELECT COALESCE(s.sku, h.sku) AS sku, COALESCE(s.available, 0) AS available,
           COALESCE(s."onHand", 0) AS "onHand", COALESCE(h.units, 0) AS held
    FROM "Stock" s FULL JOIN held h ON h.sku = s.sku
    WHERE COALESCE(s.available, 0) + COALESCE(h.units, 0) <> COALESCE(s."onHand", 0)`;
}
