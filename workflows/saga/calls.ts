import {
  ActivityCancellationType,
  isCancellation,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { BUSINESS_ERROR_TYPES, type ActivityMeta } from '../../shared/activity-meta';
import type { CallPolicy, SagaSettings } from '../../shared/saga-settings';
import type { CompensationRecord, StepRecord } from '../../shared/saga-state';
import { backoffDelay } from './backoff';
import { taskQueueOfService } from '../../shared/task-queue-name';
import type { ActivityCall } from './definition';
import { describeFailure, isBusinessFailure } from './errors';

/** Deadlines for a saga whose input predates them (started by an older API, run by this engine). */
export const FALLBACK_STEP_DEADLINE: Duration = '10m';
export const FALLBACK_COMPENSATION_DEADLINE: Duration = '6h';
export const FALLBACK_SAGA_DEADLINE: Duration = '1h';

export interface Call {
  settings: SagaSettings;
  call: ActivityCall;
  policy: CallPolicy;
  /** Unique per run, step and role: the service's ledger applies the effect once under it. */
  idempotencyKey: string;
  /** The activity id Temporal shows; the API matches pending activities to records by it. */
  activityId: string;
  record: StepRecord | CompensationRecord;
  role: ActivityMeta['role'];
  fallbackDeadline: Duration;
  /** A retriable step (after the pivot): no deadline, and every error type is retried. */
  untilSuccess?: boolean;
}

type Activity = (input: unknown, meta: ActivityMeta) => Promise<unknown>;

/** Sagas started before task queues derived from the prefix carry the queue of each service. */
function taskQueueOf(settings: SagaSettings, service: string): string {
  return settings.taskQueues?.[service] ?? taskQueueOfService(settings.taskQueuePrefix ?? '', service);
}

function begin(record: Call['record']): void {
  record.status = 'RUNNING';
  record.startedAt ??= new Date().toISOString();
}

function finish(record: Call['record'], status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'): void {
  record.status = status;
  record.endedAt = new Date().toISOString();
}

/**
 * Forward recovery: Temporal's retry policy retries technical failures with capped exponential backoff
 * until the call's deadline (schedule-to-close), however long an outage lasts, without adding a history
 * event per attempt. A business failure (non-retryable) ends the call at once. On cancel the workflow
 * waits for an attempt in flight to end (bounded by the attempt's timeout), so a compensation that
 * follows always sees what the step did.
 */
export async function callUntilDeadline({
  settings,
  call,
  policy,
  idempotencyKey,
  activityId,
  record,
  role,
  fallbackDeadline,
  untilSuccess,
}: Call): Promise<unknown> {
  const activity = proxyActivities<Record<string, Activity>>({
    taskQueue: taskQueueOf(settings, call.service),
    activityId,
    startToCloseTimeout: policy.startToCloseTimeout,
    ...(untilSuccess ? {} : { scheduleToCloseTimeout: policy.deadline ?? fallbackDeadline }),
    retry: {
      initialInterval: policy.initialInterval,
      maximumInterval: policy.maximumInterval,
      backoffCoefficient: policy.backoffCoefficient,
      nonRetryableErrorTypes: untilSuccess ? [] : [...BUSINESS_ERROR_TYPES],
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  })[call.activity] as Activity;
  begin(record);
  record.attempts = Math.max(record.attempts, 1);
  try {
    const result = await activity(call.input, { sagaId: workflowInfo().workflowId, idempotencyKey, role });
    finish(record, 'SUCCEEDED');
    return result;
  } catch (error) {
    // A call cancelled in flight has ended too (the cancel waits for it): it must not show as running.
    if (isCancellation(error)) finish(record, 'CANCELLED');
    else {
      record.lastError = describeFailure(error);
      finish(record, 'FAILED');
    }
    throw error;
  }
}

/**
 * The engine's own retry loop (one activity attempt per call, a timer between them), as sagas started
 * before forward recovery ran it: kept so that their histories replay.
 */
export async function callWithAttemptBudget({
  settings,
  call,
  policy,
  idempotencyKey,
  record,
  role,
}: Call): Promise<unknown> {
  const activity = proxyActivities<Record<string, Activity>>({
    taskQueue: taskQueueOf(settings, call.service),
    startToCloseTimeout: policy.startToCloseTimeout,
    retry: { maximumAttempts: 1 },
  })[call.activity] as Activity;
  begin(record);
  for (let attempt = 1; ; attempt++) {
    record.attempts += 1;
    try {
      const result = await activity(call.input, {
        sagaId: workflowInfo().workflowId,
        idempotencyKey,
        attempt,
        role,
      });
      finish(record, 'SUCCEEDED');
      return result;
    } catch (error) {
      if (isCancellation(error)) throw error;
      record.lastError = describeFailure(error);
      if (isBusinessFailure(error) || attempt >= (policy.maximumAttempts ?? 1)) {
        finish(record, 'FAILED');
        throw error;
      }
      await sleep(backoffDelay(policy, attempt));
    }
  }
}
