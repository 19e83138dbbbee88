import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { resolveTemporalCli } from '../../scripts/temporal/provision';
import { requireEnv, TEST_ENV } from './env';
import { exampleOrder } from '../../examples/order';
import type { OrderRequest } from '../../shared/order';
import type { SagaState } from '../../shared/saga-state';
import { customerIdKey, orderIdKey, sagaStatusKey } from '../../shared/search-attributes';
import type { orderSaga } from '../../workflows/order-saga';
import { sagaStateQuery } from '../../workflows/saga/messages';
import type { Stack } from './stack';
import { CURRENT_HISTORY_VERSION } from './history-versions';
import { FIXTURES_DIR, addToManifest, readManifest } from './fixture-manifest';

/** A valid order; tests override what they exercise. */
export const sampleOrder = exampleOrder;

export const SAMPLE_TOTAL = 2 * 1250 + 300;

export async function startSaga(
  stack: Stack,
  order: OrderRequest = sampleOrder(),
  settings = stack.settings,
  sagaId = `order-${randomUUID()}`,
): Promise<WorkflowHandle<typeof orderSaga>> {
  const orderId = `ord_${randomUUID()}`;
  return stack.client.workflow.start<typeof orderSaga>('orderSaga', {
    workflowId: sagaId,
    taskQueue: stack.queues.orchestrator,
    args: [{ orderId, order, settings }],
    typedSearchAttributes: [
      { key: sagaStatusKey, value: 'RUNNING' },
      { key: orderIdKey, value: orderId },
      { key: customerIdKey, value: order.customerId },
    ],
  });
}

export async function stateOf(handle: WorkflowHandle): Promise<SagaState> {
  return handle.query(sagaStateQuery);
}

/** Polls until the saga's state satisfies `predicate` (queries are cheap; visibility is not needed). */
export async function waitForState(
  handle: WorkflowHandle,
  predicate: (state: SagaState) => boolean,
  timeoutMs = 30_000,
): Promise<SagaState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await stateOf(handle).catch(() => undefined);
    if (state && predicate(state)) return state;
    if (Date.now() > deadline) throw new Error(`saga state not reached; last: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * With RECORD_HISTORIES=1, saves the saga's history as a replay fixture (test/fixtures/histories), so a
 * later change that breaks determinism fails the replay test.
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const dir = path.join(FIXTURES_DIR, CURRENT_HISTORY_VERSION);
  const file = `${CURRENT_HISTORY_VERSION}/${name}.json`;
  if (readManifest().has(file)) return; // released: kept as recorded, never re-recorded
  mkdirSync(dir, { recursive: true });
  // The CLI writes the canonical proto3 JSON that Worker.runReplayHistories reads.
  const cli = await resolveTemporalCli();
  const json = execFileSync(cli, [
    'workflow',
    'show',
    '--workflow-id',
    handle.workflowId,
    '--output',
    'json',
    '--address',
    requireEnv(TEST_ENV.temporalAddress),
  ]);
  writeFileSync(path.join(dir, `${name}.json`), json);
  addToManifest(file);
}

/**
 * How Temporal ran one activity of the saga, from its history: how many times the workflow scheduled it
 * and the attempt that ended it (Temporal records one started event per activity, for the last attempt).
 */
export async function attemptsOf(
  handle: WorkflowHandle,
  activityId: string,
): Promise<{ started: number; lastAttempt: number }> {
  const { events } = await handle.fetchHistory();
  const scheduled = new Set<number>();
  let started = 0;
  let lastAttempt = 0;
  for (const event of events ?? []) {
    if (event.activityTaskScheduledEventAttributes?.activityId === activityId) {
      scheduled.add(Number(event.eventId));
    }
    const start = event.activityTaskStartedEventAttributes;
    if (start && scheduled.has(Number(start.scheduledEventId))) {
      started += 1;
      lastAttempt = start.attempt ?? 0;
    }
  }
  return { started, lastAttempt };
}

/** A step of the saga's state by name (versions of a saga differ in their steps and positions). */
export function stepNamed(state: SagaState, name: string): SagaState['steps'][number] | undefined {
  return state.steps.find((step) => step.name === name);
}
