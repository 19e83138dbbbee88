import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { createSagaClient, type SagaClient, type Schemas } from '../api/client';
import { exampleOrder } from '../examples/order';
import type { OrderRequest } from '../shared/order';
import { sagaSettingsFromConfig } from '../shared/saga-settings';
import { customerIdKey, orderIdKey, sagaStatusKey } from '../shared/search-attributes';
import { taskQueues } from '../shared/task-queues';
import type { OrderSagaInput } from '../workflows/order-saga';
import { ceilingQueues } from './ceiling';
import { BENCH_API_KEY, type BenchStack } from './stack';
import type { Kind, Runner } from './throughput';

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

/** Where an API answers: the bench stack's own, or another one started beside it. */
export interface ApiTarget {
  api: { url: string };
}

/** The typed API client of a bench stack (cheap to make: no connection of its own). */
const apiOf = (stack: ApiTarget): SagaClient =>
  createSagaClient({ baseUrl: stack.api.url, token: BENCH_API_KEY });

/** One HTTP start through the API; with waitSeconds it returns when the saga is final. */
export async function postSaga(
  stack: ApiTarget,
  order: OrderRequest,
  waitSeconds?: number,
): Promise<Schemas['StartSagaResponse']> {
  const { data, error, response } = await apiOf(stack).POST('/sagas', {
    params: { query: { waitSeconds } },
    body: order,
  });
  if (!data) throw new Error(`API answered ${response.status}: ${JSON.stringify(error)}`);
  return data;
}

/** Fails on anything but 200, so an error never counts as a fast read. */
function readOrThrow<T>(what: string, res: { data?: T; error?: unknown; response: Response }): T {
  if (res.response.status !== 200 || res.data === undefined)
    throw new Error(`${what} answered ${res.response.status}: ${JSON.stringify(res.error)}`);
  return res.data;
}

/** One authenticated read of a saga through the API. */
export async function getSaga(stack: ApiTarget, sagaId: string): Promise<Schemas['Saga']> {
  const res = await apiOf(stack).GET('/sagas/{sagaId}', { params: { path: { sagaId } } });
  return readOrThrow(`GET /sagas/${sagaId}`, res);
}

/** One authenticated page of the saga list through the API. */
export async function listSagas(stack: ApiTarget, pageSize: number): Promise<Schemas['ListSagasResponse']> {
  const res = await apiOf(stack).GET('/sagas', { params: { query: { pageSize } } });
  return readOrThrow('GET /sagas', res);
}

/**
 * One ceiling workflow to its end, as bench/ceiling's runCeilingWorkflow starts it, but returning its id
 * for the history breakdown.
 */
export async function runCeiling(
  stack: BenchStack,
  workflowType: 'ceilingWorkflow' | 'ceilingSixStepWorkflow' = 'ceilingWorkflow',
): Promise<string> {
  const workflowId = `ceiling-${randomUUID()}`;
  await stack.plainClient.workflow.execute(workflowType, {
    workflowId,
    taskQueue: ceilingQueues(stack.config.TASK_QUEUE_PREFIX).workflow,
    args: [],
  });
  return workflowId;
}

/** One workflow of each kind to its end on a bench stack, returning its id: what the benches time. */
export function kindRunners(stack: BenchStack): Record<Kind, Runner> {
  return {
    ceiling: () => runCeiling(stack),
    ceilingSix: () => runCeiling(stack, 'ceilingSixStepWorkflow'),
    bare: () => runWorkflow(stack, 'bareOrderWorkflow'),
    saga: () => runWorkflow(stack, 'orderSaga'),
  };
}
