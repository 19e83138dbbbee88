import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { OrdersDb } from '../../activities/orders/db';
import type { PaymentsDb } from '../../activities/payments/db';
import type { ShipmentsDb } from '../../activities/shipments/db';
import type { SagaOutcome, SagaStatus } from '../../shared/saga-state';
import { sagaStatusKey } from '../../shared/search-attributes';
import { sagaStateQuery } from '../../workflows/saga/messages';
import type { Effect, SagaFacts } from './rules';
import type { SagaStory } from './would-complete';

export interface Sources {
  client: Client;
  orders: OrdersDb;
  payments: PaymentsDb;
  shipments: ShipmentsDb;
}

/** Every saga Temporal visibility knows of (optionally narrowed, e.g. `TaskQueue = 'x'`). */
export async function listSagas(client: Client, narrow?: string): Promise<WorkflowExecutionInfo[]> {
  const query = [`WorkflowType = 'orderSaga'`, narrow].filter(Boolean).join(' AND ');
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
  row: { sagaId: string; operation: string; outcome: unknown; createdAt: Date },
) => ({
  sagaId: row.sagaId,
  effect: {
    operation: `${service}.${row.operation}`,
    effect: String((row.outcome as { effect?: unknown } | null)?.effect ?? 'none'),
    at: row.createdAt.getTime(),
  } satisfies Effect,
});

/** Reads each saga's rows and effect ledger from the three service databases, in bulk. */
export async function gatherFacts(sources: Sources, sagas: WorkflowExecutionInfo[]): Promise<SagaFacts[]> {
  const ids = sagas.map((s) => s.workflowId);
  const where = (chunk: string[]) => ({ where: { sagaId: { in: chunk } } });
  const [orders, payments, shipments, orderOps, paymentOps, shipmentOps] = await Promise.all([
    inChunks(ids, (c) => sources.orders.order.findMany(where(c))),
    inChunks(ids, (c) => sources.payments.payment.findMany(where(c))),
    inChunks(ids, (c) => sources.shipments.shipment.findMany(where(c))),
    inChunks(ids, (c) => sources.orders.orderOperation.findMany(where(c))),
    inChunks(ids, (c) => sources.payments.paymentOperation.findMany(where(c))),
    inChunks(ids, (c) => sources.shipments.shipmentOperation.findMany(where(c))),
  ]);
  const bySaga = <T extends { sagaId: string }>(rows: T[]) => new Map(rows.map((r) => [r.sagaId, r]));
  const order = bySaga(orders);
  const payment = bySaga(payments);
  const shipment = bySaga(shipments);
  const effects = new Map<string, Effect[]>();
  for (const { sagaId, effect } of [
    ...orderOps.map((r) => effectOf('order', r)),
    ...paymentOps.map((r) => effectOf('payment', r)),
    ...shipmentOps.map((r) => effectOf('shipment', r)),
  ]) {
    effects.set(sagaId, [...(effects.get(sagaId) ?? []), effect]);
  }
  return sagas.map((info) => ({
    sagaId: info.workflowId,
    status: info.typedSearchAttributes.get(sagaStatusKey) as SagaStatus | undefined,
    temporalStatus: info.status.name,
    startedAt: info.startTime.getTime(),
    order: order.get(info.workflowId) ?? null,
    payment: payment.get(info.workflowId) ?? null,
    shipment: shipment.get(info.workflowId) ?? null,
    effects: effects.get(info.workflowId) ?? [],
  }));
}

/** The compensation mode a saga ran with, asked of the saga itself (only needed for out-of-order compensations). */
export async function compensationModeOf(
  client: Client,
  sagaId: string,
): Promise<'sequential' | 'parallel' | undefined> {
  try {
    return (await client.workflow.getHandle(sagaId).query(sagaStateQuery)).compensationMode;
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
