import {
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityMeta } from '../../shared/activity-meta';
import type { CallPolicy, SagaSettings } from '../../shared/saga-settings';
import type {
  CompensationRecord,
  SagaOutcome,
  SagaState,
  SagaStatus,
  StepRecord,
} from '../../shared/saga-state';
import { sagaStatusKey } from '../../shared/search-attributes';
import { sagaTelemetry } from './telemetry';
import { backoffDelay } from './backoff';
import type { ActivityCall, SagaContext, SagaDefinition, SagaStep } from './definition';
import { describeFailure, isBusinessFailure } from './errors';
import { markResolvedUpdate, resumeCompensationUpdate, sagaStateQuery } from './messages';

interface RegisteredCompensation {
  record: CompensationRecord;
  call: ActivityCall;
  policy: CallPolicy;
}

type OperatorAction = { kind: 'resume' } | { kind: 'resolve'; note: string };

/**
 * Runs a saga definition to one of its endings. Deterministic workflow code: all effects happen in
 * activities; time comes from the workflow clock.
 */
export async function runSaga<Input, Data>(
  definition: SagaDefinition<Input, Data>,
  input: Input,
  settings: SagaSettings,
): Promise<SagaOutcome<Data>> {
  const sagaId = workflowInfo().workflowId;
  const ctx: SagaContext<Input, Data> = { sagaId, input, data: definition.initialData() };
  const state: SagaState = {
    sagaId,
    sagaName: definition.name,
    status: 'RUNNING',
    startedAt: now(),
    compensationMode: settings.compensationMode,
    steps: definition.steps.map((s): StepRecord => ({ name: s.name, status: 'PENDING', attempts: 0 })),
    compensations: [],
  };
  let operatorAction: OperatorAction | undefined;
  sagaTelemetry.started(definition.name);
  log.info('saga started', { saga: definition.name });

  setHandler(sagaStateQuery, () => state);
  setHandler(
    resumeCompensationUpdate,
    () => {
      operatorAction = { kind: 'resume' };
      return { status: 'COMPENSATING' as SagaStatus };
    },
    { validator: () => requireParked(state) },
  );
  setHandler(
    markResolvedUpdate,
    ({ note }) => {
      operatorAction = { kind: 'resolve', note };
      return { status: 'RESOLVED' as SagaStatus };
    },
    {
      validator: (request) => {
        requireParked(state);
        if (typeof request?.note !== 'string' || request.note.trim() === '') {
          throw new Error('a resolution note is required');
        }
      },
    },
  );

  const setStatus = (status: SagaStatus) => {
    state.status = status;
    upsertSearchAttributes([{ key: sagaStatusKey, value: status }]);
    sagaTelemetry.statusChanged(definition.name, status);
    // Step names only: failure reasons can quote customer data and stay in the (encrypted) state.
    log.info(`saga ${status}`, {
      saga: definition.name,
      sagaStatus: status,
      failedStep: state.failure?.step,
    });
  };

  const registered: RegisteredCompensation[] = [];
  try {
    for (const [index, sagaStep] of definition.steps.entries()) {
      const record = state.steps[index] as StepRecord;
      if (sagaStep.compensation) registered.push(registerCompensation(sagaStep, ctx, settings));
      const result = await callWithRetries(
        settings,
        sagaStep.action(ctx),
        { ...settings.stepPolicy, ...sagaStep.policy },
        `${sagaId}/${sagaStep.name}`,
        record,
        'step',
      );
      sagaStep.onResult?.(ctx, result as never);
    }
    setStatus('COMPLETED');
  } catch (error) {
    const failedStep = state.steps.find((s) => s.status === 'RUNNING' || s.status === 'FAILED');
    state.failure = {
      step: failedStep?.name,
      reason: describeFailure(error),
      cancelled: isCancellation(error),
    };
    // A user's cancel must not interrupt the undoing of what was done.
    await CancellationScope.nonCancellable(async () => {
      setStatus('COMPENSATING');
      state.compensations = registered.reverse().map((c) => c.record);
      let pending = registered;
      for (;;) {
        pending = await compensate(pending);
        if (pending.length === 0) return setStatus('COMPENSATED');
        state.parkedReason = `compensation ${pending[0]?.record.activity} of step ${pending[0]?.record.step} failed: ${pending[0]?.record.lastError}`;
        setStatus('COMPENSATION_FAILED');
        operatorAction = undefined;
        await condition(() => operatorAction !== undefined);
        const action = operatorAction as OperatorAction | undefined;
        if (action?.kind === 'resolve') {
          state.resolution = { note: action.note, at: now() };
          return setStatus('RESOLVED');
        }
        state.parkedReason = undefined;
        setStatus('COMPENSATING');
      }
    });
  }
  state.endedAt = now();
  return { sagaId, status: state.status, failure: state.failure, data: ctx.data };

  /** Runs the given compensations (already in reverse order); returns those still to do. */
  async function compensate(list: RegisteredCompensation[]): Promise<RegisteredCompensation[]> {
    const run = (c: RegisteredCompensation) =>
      callWithRetries(
        settings,
        c.call,
        c.policy,
        `${sagaId}/${c.record.step}/compensate`,
        c.record,
        'compensation',
      );
    if (settings.compensationMode === 'parallel') {
      const results = await Promise.allSettled(list.map(run));
      return list.filter((_, i) => results[i]?.status === 'rejected');
    }
    for (const [index, c] of list.entries()) {
      try {
        await run(c);
      } catch {
        // Sequential order is part of the contract: stop here, earlier steps stay to be undone later.
        return list.slice(index);
      }
    }
    return [];
  }
}

function registerCompensation<Input, Data>(
  sagaStep: SagaStep<Input, Data, never>,
  ctx: SagaContext<Input, Data>,
  settings: SagaSettings,
): RegisteredCompensation {
  const call = (sagaStep.compensation as NonNullable<typeof sagaStep.compensation>)(ctx);
  return {
    call,
    policy: { ...settings.compensationPolicy, ...sagaStep.compensationPolicy },
    record: { step: sagaStep.name, activity: call.activity, status: 'PENDING', attempts: 0 },
  };
}

/**
 * Calls one activity, retrying with backoff per the policy. The engine retries (each activity call has
 * a single attempt) so that attempts and the last error are visible in the saga's state while it runs.
 * Business failures are not retried; cancellation is passed through.
 */
async function callWithRetries(
  settings: SagaSettings,
  call: ActivityCall,
  policy: CallPolicy,
  idempotencyKey: string,
  record: StepRecord | CompensationRecord,
  role: ActivityMeta['role'],
): Promise<unknown> {
  const taskQueue = settings.taskQueues[call.service as keyof SagaSettings['taskQueues']];
  if (!taskQueue) throw new Error(`no task queue configured for service ${call.service}`);
  const activities = proxyActivities<
    Record<string, (input: unknown, meta: ActivityMeta) => Promise<unknown>>
  >({
    taskQueue,
    startToCloseTimeout: policy.startToCloseTimeout,
    retry: { maximumAttempts: 1 },
  });
  const activity = activities[call.activity] as (input: unknown, meta: ActivityMeta) => Promise<unknown>;
  record.status = 'RUNNING';
  record.startedAt ??= now();
  for (let attempt = 1; ; attempt++) {
    record.attempts += 1;
    try {
      const result = await activity(call.input, {
        sagaId: workflowInfo().workflowId,
        idempotencyKey,
        attempt,
        role,
      });
      record.status = 'SUCCEEDED';
      record.endedAt = now();
      return result;
    } catch (error) {
      if (isCancellation(error)) throw error;
      record.lastError = describeFailure(error);
      if (isBusinessFailure(error) || attempt >= policy.maximumAttempts) {
        record.status = 'FAILED';
        record.endedAt = now();
        throw error;
      }
      await sleep(backoffDelay(policy, attempt));
    }
  }
}

function requireParked(state: SagaState): void {
  if (state.status !== 'COMPENSATION_FAILED') {
    throw new Error(`saga is ${state.status}; only a saga in COMPENSATION_FAILED accepts operator actions`);
  }
}

function now(): string {
  // Date in workflow code is the deterministic workflow clock.
  return new Date().toISOString();
}
