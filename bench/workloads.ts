import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { exampleOrder } from '../examples/order';
import type { OrderRequest } from '../shared/order';
import { sagaSettingsFromConfig } from '../shared/saga-settings';
import { customerIdKey, orderIdKey, sagaStatusKey } from '../shared/search-attributes';
import { taskQueues } from '../shared/task-queues';
import type { OrderSagaInput } from '../workflows/order-saga';
import { ceilingQueues } from './ceiling';
import { BENCH_API_KEY, type BenchStack } from './stack';

export const benchOrder = (customerId = 'bench-customer'): OrderRequest => exampleOrder({ customerId });

function input(stack: BenchStack, order: OrderRequest): OrderSagaInput {
  return {
    orderId: `ord_${randomUUID()}`,
    order,
    settings: sagaSettingsFromConfig(stack.config, stack.config.TASK_QUEUE_PREFIX),
  };
}

/** Starts a workflow directly with the client, as the API would, waits for its end; returns its id. */
export async function runWorkflow(
  stack: BenchStack,
  type: 'orderSaga' | 'bareOrderWorkflow',
  order = benchOrder(),
): Promise<string> {
  const handle = await startWorkflow(stack.client, stack, type, order);
  await handle.result();
  return handle.workflowId;
}

export async function startWorkflow(
  client: Client,
  stack: BenchStack,
  type: 'orderSaga' | 'bareOrderWorkflow',
  order = benchOrder(),
) {
  const args = input(stack, order);
  return client.workflow.start(type, {
    workflowId: `order-${randomUUID()}`,
    taskQueue: taskQueues(stack.config.TASK_QUEUE_PREFIX).orchestrator,
    args: [args],
    ...(type === 'orderSaga'
      ? {
          typedSearchAttributes: [
            { key: sagaStatusKey, value: 'RUNNING' },
            { key: orderIdKey, value: args.orderId },
            { key: customerIdKey, value: order.customerId },
          ],
        }
      : {}),
  });
}

/** One HTTP start through the API; with waitSeconds it returns when the saga is final. */
export async function postSaga(
  stack: BenchStack,
  order: OrderRequest,
  waitSeconds?: number,
): Promise<{ sagaId: string; status: string }> {
  const res = await fetch(`${stack.api.url}/sagas${waitSeconds ? `?waitSeconds=${waitSeconds}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_API_KEY}` },
    body: JSON.stringify(order),
  });
  if (res.status !== 200 && res.status !== 202)
    throw new Error(`API answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { sagaId: string; status: string };
}

/** One authenticated GET of the API; fails on anything but 200, so an error never counts as a fast read. */
export async function apiGet(stack: BenchStack, pathAndQuery: string): Promise<unknown> {
  const res = await fetch(`${stack.api.url}${pathAndQuery}`, {
    headers: { authorization: `Bearer ${BENCH_API_KEY}` },
  });
  if (res.status !== 200) throw new Error(`GET ${pathAndQuery} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/**
 * One ceiling workflow to its end, as bench/ceiling's runCeilingWorkflow starts it, but returning its id
 * for the history breakdown.
 */
export async function runCeiling(stack: BenchStack): Promise<string> {
  const workflowId = `ceiling-${randomUUID()}`;
  await stack.plainClient.workflow.execute('ceilingWorkflow', {
    workflowId,
    taskQueue: ceilingQueues(stack.config.TASK_QUEUE_PREFIX).workflow,
    args: [],
  });
  return workflowId;
}
