import {
  allHandlersFinished,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CallPolicy, SagaSettings } from '../../shared/saga-settings';
import type {
  AuditedAction,
  CompensationRecord,
  SagaOutcome,
  SagaState,
  SagaStatus,
  StepRecord,
} from '../../shared/saga-state';
import { sagaStatusKey } from '../../shared/search-attributes';
import { sagaTelemetry } from './telemetry';
import {
  FALLBACK_COMPENSATION_DEADLINE,
  FALLBACK_SAGA_DEADLINE,
  FALLBACK_STEP_DEADLINE,
  callUntilDeadline,
  callWithAttemptBudget,
  type Call,
} from './calls';
import {
  checkVersions,
  flattenSteps,
  isParallelGroup,
  versionMarker,
  type ActivityCall,
  type SagaContext,
  type SagaDefinition,
  type SagaStep,
} from './definition';
import { describeFailure, isBusinessFailure } from './errors';
import {
  cancelSagaUpdate,
  FINAL_OUTCOME_MEMO,
  markResolvedUpdate,
  resumeCompensationUpdate,
  sagaStateQuery,
} from './messages';

/** Marks the histories of sagas run with forward recovery; those without it replay the attempt budget. */
export const FORWARD_RECOVERY_PATCH = 'forward-recovery';
/** Marks the histories of sagas that leave their outcome in a memo; those before it end without one. */
export const OUTCOME_MEMO_PATCH = 'outcome-memo';

/** A step that may have taken effect, with what it returned once it succeeded. */
interface Attempted<Input, Data> {
  step: SagaStep<Input, Data, never>;
  outcome?: { result: unknown };
}

interface RegisteredCompensation {
  record: CompensationRecord;
  call: ActivityCall;
  policy: CallPolicy;
}

/** The input of every saga workflow: the saga's own input and the settings it runs with. */
export type SagaWorkflowInput<Input> = Input & { settings: SagaSettings };

/**
 * The Temporal workflow of a saga: its released definitions, oldest first. A new saga runs the newest and
 * records its version marker; a saga started on an older version keeps running (and replaying) that one.
 * Keep every version that may still have sagas running or parked; see the README's "Versioning".
 */
export function sagaWorkflow<Input, Data>(...versions: SagaDefinition<Input, Data, string>[]) {
  checkVersions(versions);
  return (input: SagaWorkflowInput<Input>): Promise<SagaOutcome<Data>> =>
    runSaga(versions, input, input.settings);
}

/** The version a saga runs: the newest whose marker it has (a new saga records the newest's). */
function versionToRun<D extends { name: string; version: number }>(versions: readonly D[]): D {
  for (let i = versions.length - 1; i > 0; i--) {
    const version = versions[i] as D;
    if (patched(versionMarker(version))) return version;
  }
  return versions[0] as D;
}

type OperatorAction = { kind: 'resume' } | { kind: 'resolve'; note: string; by?: string };

/**
 * Runs a saga definition to one of its endings. Deterministic workflow code: all effects happen in
 * activities; time comes from the workflow clock.
 */
export async function runSaga<Input, Data>(
  definitionOrVersions: SagaDefinition<Input, Data, string> | readonly SagaDefinition<Input, Data, string>[],
  input: Input,
  settings: SagaSettings,
): Promise<SagaOutcome<Data>> {
  const forwardRecovery = patched(FORWARD_RECOVERY_PATCH);
  // Decided at the start, in the first task like the other markers: a marker first met at the end lands in
  // the task of an operator's update, where a query's replay did not find it (nondeterminism, seen in tests).
  const outcomeMemo = patched(OUTCOME_MEMO_PATCH);
  const definition = Array.isArray(definitionOrVersions)
    ? versionToRun(checkVersions(definitionOrVersions as readonly SagaDefinition<Input, Data, string>[]))
    : (definitionOrVersions as SagaDefinition<Input, Data, string>);
  const flat = flattenSteps(definition);
  const callActivity = forwardRecovery ? callUntilDeadline : callWithAttemptBudget;
  const info = workflowInfo();
  const sagaId = info.workflowId;
  // Per run: a saga id used again after Temporal's retention must not find the old run's ledger entries.
  const runKey = forwardRecovery ? `${sagaId}/${info.firstExecutionRunId}` : sagaId;
  const ctx: SagaContext<Input, Data> = { sagaId, input, data: definition.initialData() };
  const state: SagaState = {
    sagaId,
    sagaName: definition.name,
    sagaVersion: definition.version,
    status: 'RUNNING',
    startedAt: now(),
    compensationMode: settings.compensationMode,
    steps: flat.map(({ step, group }): StepRecord => ({
      name: step.name,
      kind: step.kind ?? 'compensatable',
      ...(group === undefined ? {} : { group }),
      status: 'PENDING',
      attempts: 0,
    })),
    compensations: [],
  };
  let operatorAction: OperatorAction | undefined;
  sagaTelemetry.started(definition.name);
  log.info('saga started', { saga: definition.name });

  const setStatus = (status: SagaStatus) => {
    state.status = status;
    upsertSearchAttributes([{ key: sagaStatusKey, value: status }]);
    sagaTelemetry.statusChanged(definition.name, status);
    // Step names only: failure reasons can quote customer data and stay in the (encrypted) state.
    const fields = { saga: definition.name, sagaStatus: status, failedStep: state.failure?.step };
    // A parked saga needs a human: the line an alert fires on.
    if (status === 'COMPENSATION_FAILED') log.warn(`saga ${status}`, fields);
    else log.info(`saga ${status}`, fields);
  };

  // The forward path runs in its own scope: a user's cancel or the saga's deadline cancels it, never
  // the compensations that follow.
  const forward = new CancellationScope();
  const deadline = new CancellationScope();
  const sagaDeadline = settings.sagaDeadline ?? FALLBACK_SAGA_DEADLINE;
  let deadlinePassed = false;
  let cancelledAtStep: string | undefined;
  // From the pivot on, the saga can only go forward: no cancel, no deadline.
  let pivotStarted: string | undefined;
  if (forwardRecovery) {
    void deadline
      .run(() => sleep(sagaDeadline))
      .then(
        () => {
          deadlinePassed = true;
          forward.cancel();
        },
        () => undefined, // the forward path ended first
      );
  }

  // State only (no command): histories from before the audit replay unchanged.
  const audit = (action: AuditedAction, by: string | undefined) => {
    state.audit = [...(state.audit ?? []), { action, ...(by === undefined ? {} : { by }), at: now() }];
    log.info(`saga ${action} accepted`, { saga: definition.name, action, by });
  };

  setHandler(sagaStateQuery, () => state);
  setHandler(
    cancelSagaUpdate,
    (request) => {
      audit('cancel', request?.by);
      state.cancelRequestedAt = now();
      cancelledAtStep = state.steps.find((s) => s.status === 'RUNNING')?.name;
      forward.cancel();
      setStatus('COMPENSATING');
      return { status: state.status };
    },
    {
      validator: (request) => {
        requireActor(request);
        requireCancellable(state);
        if (pivotStarted) {
          throw new Error(`saga passed its pivot step ${pivotStarted}; it can only complete`);
        }
      },
    },
  );
  setHandler(
    resumeCompensationUpdate,
    (request) => {
      audit('resume', request?.by);
      operatorAction = { kind: 'resume' };
      return { status: 'COMPENSATING' as SagaStatus };
    },
    {
      validator: (request) => {
        requireActor(request);
        requireParked(state);
      },
    },
  );
  setHandler(
    markResolvedUpdate,
    ({ note, by }) => {
      audit('resolve', by);
      operatorAction = { kind: 'resolve', note, ...(by === undefined ? {} : { by }) };
      return { status: 'RESOLVED' as SagaStatus };
    },
    {
      validator: (request) => {
        requireActor(request);
        requireParked(state);
        if (typeof request?.note !== 'string' || request.note.trim() === '') {
          throw new Error('a resolution note is required');
        }
      },
    },
  );

  // Steps that may have taken effect, in the order they started: registered before the action runs, so
  // a step whose outcome is uncertain (timeout, crash, cancel in flight) is undone too.
  const attempted: Attempted<Input, Data>[] = [];
  const recordOf = (sagaStep: SagaStep<Input, Data, never>) =>
    state.steps[flat.findIndex((f) => f.step === sagaStep)] as StepRecord;

  const runStep = async (sagaStep: SagaStep<Input, Data, never>): Promise<void> => {
    const entry: Attempted<Input, Data> = { step: sagaStep };
    if (sagaStep.compensation) attempted.push(entry);
    const retriable = sagaStep.kind === 'retriable';
    const call: Call = {
      settings,
      call: sagaStep.action(ctx),
      policy: retriable
        ? {
            ...settings.stepPolicy,
            maximumInterval: settings.compensationPolicy.maximumInterval,
            ...sagaStep.policy,
          }
        : { ...settings.stepPolicy, ...sagaStep.policy },
      idempotencyKey: `${runKey}/${sagaStep.name}`,
      activityId: `step/${sagaStep.name}`,
      record: recordOf(sagaStep),
      role: 'step',
      fallbackDeadline: FALLBACK_STEP_DEADLINE,
      untilSuccess: retriable,
    };
    let result: unknown;
    for (let round = 1; ; round++) {
      try {
        result = await callActivity(
          round === 1 ? call : { ...call, activityId: `${call.activityId}/${round}` },
        );
        break;
      } catch (error) {
        // A retriable step must succeed: Temporal retries its technical failures without end, and a
        // business "no" (which Temporal never retries) is asked again after the longest backoff.
        if (!retriable || !isBusinessFailure(error)) throw error;
        await sleep(call.policy.maximumInterval);
      }
    }
    entry.outcome = { result };
    sagaStep.onResult?.(ctx, result as never);
  };

  /** Members run concurrently; the first failure cancels the others, which are awaited, then rethrown. */
  const runGroup = async (members: SagaStep<Input, Data, never>[]): Promise<void> => {
    const group = new CancellationScope();
    let firstFailure: unknown;
    await group.run(() =>
      Promise.allSettled(
        members.map((member) =>
          runStep(member).catch((error: unknown) => {
            if (firstFailure === undefined && !isCancellation(error)) firstFailure = error;
            group.cancel();
            throw error;
          }),
        ),
      ),
    );
    if (firstFailure !== undefined) throw firstFailure;
    if (group.consideredCancelled || (forward.consideredCancelled && !pivotStarted)) {
      throw new CancelledFailure('cancelled');
    }
  };

  try {
    await forward.run(async () => {
      for (const element of definition.steps) {
        // Cancelled while the previous step was in flight: that step has ended, and no other starts.
        if (forwardRecovery && forward.consideredCancelled && !pivotStarted) {
          throw new CancelledFailure('cancelled');
        }
        if (isParallelGroup(element)) {
          // A group after the pivot holds retriable steps: shielded like them.
          await (pivotStarted
            ? CancellationScope.nonCancellable(() => runGroup(element.parallel))
            : runGroup(element.parallel));
        } else if (pivotStarted || element.kind === 'pivot') {
          if (!pivotStarted) {
            pivotStarted = element.name;
            deadline.cancel();
          }
          // Past the point of no return, not even Temporal's own cancel may stop the saga half-way.
          await CancellationScope.nonCancellable(() => runStep(element));
        } else {
          await runStep(element);
        }
      }
      // A cancel accepted while the last step was in flight: that step has ended, and is undone too.
      if (forwardRecovery && forward.consideredCancelled && !pivotStarted) {
        throw new CancelledFailure('cancelled');
      }
    });
    deadline.cancel();
    setStatus('COMPLETED');
  } catch (error) {
    deadline.cancel();
    const failedStep =
      state.steps.find((s) => s.status === 'FAILED') ??
      state.steps.find((s) => s.status === 'RUNNING' || s.status === 'CANCELLED');
    state.failure = {
      step: failedStep?.name ?? cancelledAtStep,
      reason: deadlinePassed ? `saga deadline (${String(sagaDeadline)}) passed` : describeFailure(error),
      // A cancelled step can also end by its own timeout: the cancel is still why the saga compensates.
      cancelled: (isCancellation(error) || forward.consideredCancelled) && !deadlinePassed,
    };
    // A user's cancel must not interrupt the undoing of what was done.
    await CancellationScope.nonCancellable(async () => {
      if (state.status !== 'COMPENSATING') setStatus('COMPENSATING');
      const registered = attempted.reverse().map((a) => compensationOf(a, ctx, settings));
      state.compensations = registered.map((c) => c.record);
      let pending = registered;
      for (let round = 1; ; round++) {
        pending = await compensate(pending, round);
        if (pending.length === 0) return setStatus('COMPENSATED');
        state.parkedReason = `compensation ${pending[0]?.record.activity} of step ${pending[0]?.record.step} failed: ${pending[0]?.record.lastError}`;
        setStatus('COMPENSATION_FAILED');
        operatorAction = undefined;
        await condition(() => operatorAction !== undefined);
        const action = operatorAction as OperatorAction | undefined;
        if (action?.kind === 'resolve') {
          state.resolution = {
            note: action.note,
            at: now(),
            ...(action.by === undefined ? {} : { by: action.by }),
          };
          return setStatus('RESOLVED');
        }
        state.parkedReason = undefined;
        setStatus('COMPENSATING');
      }
    });
  }
  state.endedAt = now();
  // The final state travels in the result, so reading a finished saga needs no query (no replay), and in
  // a memo, so one describe answers it (the memo is written with the completion, in the same task).
  const outcome: SagaOutcome<Data> = {
    sagaId,
    status: state.status,
    failure: state.failure,
    data: ctx.data,
    state,
  };
  if (outcomeMemo) {
    // The operator's update answers first: its answer and the memo in one task, the other way round,
    // did not replay (the SDK's update machine met the memo's event).
    // Not cancellable: a saga cancelled through Temporal has run its compensations and must still end.
    if (!allHandlersFinished()) await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    upsertMemo({ [FINAL_OUTCOME_MEMO]: outcome });
  }
  return outcome;

  /** Runs the given compensations (already in reverse order); returns those still to do. */
  async function compensate(
    list: RegisteredCompensation[],
    round: number,
  ): Promise<RegisteredCompensation[]> {
    const run = (c: RegisteredCompensation) =>
      callActivity({
        settings,
        call: c.call,
        policy: c.policy,
        idempotencyKey: `${runKey}/${c.record.step}/compensate`,
        activityId: `compensate/${c.record.step}/${round}`,
        record: c.record,
        role: 'compensation',
        fallbackDeadline: FALLBACK_COMPENSATION_DEADLINE,
      } satisfies Call);
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

/** The compensation of an attempted step, built from its result when it succeeded, else from the input. */
function compensationOf<Input, Data>(
  { step: sagaStep, outcome }: Attempted<Input, Data>,
  ctx: SagaContext<Input, Data>,
  settings: SagaSettings,
): RegisteredCompensation {
  const build = sagaStep.compensation as NonNullable<typeof sagaStep.compensation>;
  const call = build(ctx, outcome?.result as never);
  return {
    call,
    policy: { ...settings.compensationPolicy, ...sagaStep.compensationPolicy },
    record: { step: sagaStep.name, activity: call.activity, status: 'PENDING', attempts: 0 },
  };
}

function requireCancellable(state: SagaState): void {
  if (state.cancelRequestedAt || state.status === 'COMPENSATING') {
    throw new Error('saga is already COMPENSATING; nothing more to cancel');
  }
  if (state.status === 'COMPENSATION_FAILED') {
    throw new Error('saga is parked in COMPENSATION_FAILED; an operator resumes or resolves it');
  }
  if (state.status !== 'RUNNING') throw new Error(`saga is ${state.status}; there is nothing to cancel`);
}

/** `by`, when given, is a principal id: a short string (the API's, never free text). */
function requireActor(request: { by?: unknown } | undefined): void {
  const by = request?.by;
  if (by !== undefined && (typeof by !== 'string' || by.length === 0 || by.length > 200)) {
    throw new Error('the requester (by) must be a principal id of 1 to 200 characters');
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
