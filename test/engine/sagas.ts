import type { ActivityMeta } from '../../shared/activity-meta';
import {
  defineSaga,
  defineService,
  parallel,
  stepsOf,
  type ServiceRef,
  type StepKind,
} from '../../workflows/saga';

/**
 * Synthetic services and sagas of the engine tests, built with the engine's public API only. Workflow
 * code (bundled by the tests): plain data and pure functions.
 */
export type LedgerServiceName = 'alpha' | 'beta' | 'gamma';
export const LEDGER_SERVICE_NAMES: readonly LedgerServiceName[] = ['alpha', 'beta', 'gamma'];

/** What a step's activity is told to do: the failure injection of these tests. */
export type Behaviour =
  | { kind: 'ok' }
  /** A business "no" (non-retryable) for the first `times` calls (every call when absent), then success. */
  | { kind: 'business'; times?: number }
  /** A technical failure (retried by Temporal) for the first `times` attempts, then success. */
  | { kind: 'technical'; times?: number }
  /**
   * Waits at a gate until the test opens it. On a cancel, `abort` ends the attempt with nothing done;
   * `ignore` outlives the cancel and takes effect when the gate opens. With `then: 'refuse'` the step
   * answers a business "no" once the gate opens.
   */
  | { kind: 'hold'; onCancel: 'abort' | 'ignore'; then?: 'refuse' };

/** A compensation that waits until `count` compensations of its saga have started. */
export type UndoBehaviour = { kind: 'barrier'; count: number };

export interface ActInput {
  sagaId: string;
  step: string;
  behaviour?: Behaviour;
}
export interface ActResult {
  ref: string;
}
export interface UndoInput {
  sagaId: string;
  step: string;
  /** The step's result when it succeeded; absent when its outcome is uncertain. */
  result?: ActResult;
  behaviour?: UndoBehaviour;
}

// A type alias, not an interface: a service's activity module is a record of activities.
export type LedgerActivities = {
  act(input: ActInput, meta: ActivityMeta): Promise<ActResult>;
  undo(input: UndoInput, meta: ActivityMeta): Promise<void>;
};

export const LEDGER_SERVICES = {
  alpha: defineService<LedgerActivities>()('alpha'),
  beta: defineService<LedgerActivities>()('beta'),
  gamma: defineService<LedgerActivities>()('gamma'),
} as const;
const { alpha, beta, gamma } = LEDGER_SERVICES;

/** One step of a generated saga. */
export interface PlanStep {
  name: string;
  service: LedgerServiceName;
  kind: StepKind;
  /** A compensatable step with a compensation (the others have none). */
  compensated: boolean;
}
export type PlanElement = PlanStep | { parallel: PlanStep[] };

export interface EngineSagaInput {
  /** Per step name: what its action does (default: succeeds). */
  behaviours?: Record<string, Behaviour>;
  /** Per step name: what its compensation does (default: undoes at once). */
  undoBehaviours?: Record<string, UndoBehaviour>;
  /** The definition of plannedSaga. */
  plan?: PlanElement[];
}
export interface EngineSagaData {
  /** The results of the steps that succeeded, in the order they succeeded. */
  refs: string[];
}

const step = stepsOf<EngineSagaInput, EngineSagaData>();

/** A step of a synthetic service: its action is `act`, its compensation (if any) `undo`. */
export function ledgerStep(
  service: ServiceRef<LedgerServiceName, LedgerActivities>,
  name: string,
  {
    kind = 'compensatable',
    compensated = kind === 'compensatable',
  }: { kind?: StepKind; compensated?: boolean } = {},
) {
  return step<ActResult, LedgerServiceName>({
    name,
    kind,
    action: ({ sagaId, input }) =>
      service.call('act', { sagaId, step: name, behaviour: input.behaviours?.[name] }),
    onResult: ({ data }, result) => {
      data.refs.push(result.ref);
    },
    ...(compensated
      ? {
          compensation: ({ sagaId, input }, result) =>
            service.call('undo', { sagaId, step: name, result, behaviour: input.undoBehaviours?.[name] }),
        }
      : {}),
  });
}

const base = {
  services: [alpha, beta, gamma],
  initialData: (): EngineSagaData => ({ refs: [] }),
};

/** Four compensatable steps, one after the other, on the three services. */
export const sequentialDefinition = defineSaga<EngineSagaInput, EngineSagaData, LedgerServiceName>({
  ...base,
  name: 'sequential',
  version: 1,
  steps: [ledgerStep(alpha, 's1'), ledgerStep(beta, 's2'), ledgerStep(gamma, 's3'), ledgerStep(alpha, 's4')],
});

/** Two compensatable steps, the pivot, then retriable steps (a group of two, then one). */
export const pivotDefinition = defineSaga<EngineSagaInput, EngineSagaData, LedgerServiceName>({
  ...base,
  name: 'pivot',
  version: 1,
  steps: [
    ledgerStep(alpha, 'reserve'),
    ledgerStep(beta, 'check'),
    ledgerStep(gamma, 'charge', { kind: 'pivot' }),
    parallel([
      ledgerStep(alpha, 'notify', { kind: 'retriable' }),
      ledgerStep(beta, 'ship', { kind: 'retriable' }),
    ]),
    ledgerStep(gamma, 'close', { kind: 'retriable' }),
  ],
});

/** A step, a group of three on the three services, a step. */
export const groupDefinition = defineSaga<EngineSagaInput, EngineSagaData, LedgerServiceName>({
  ...base,
  name: 'group',
  version: 1,
  steps: [
    ledgerStep(alpha, 'first'),
    parallel([ledgerStep(alpha, 'a'), ledgerStep(beta, 'b'), ledgerStep(gamma, 'c')]),
    ledgerStep(gamma, 'last'),
  ],
});

/** Version 1 of a versioned saga: three steps. */
export const versionedV1 = defineSaga<EngineSagaInput, EngineSagaData, LedgerServiceName>({
  ...base,
  name: 'versioned',
  version: 1,
  steps: [ledgerStep(alpha, 'one'), ledgerStep(beta, 'two'), ledgerStep(gamma, 'three')],
});

/** Version 2: a new step `audit`, run beside `two`. */
export const versionedV2 = defineSaga<EngineSagaInput, EngineSagaData, LedgerServiceName>({
  ...base,
  name: 'versioned',
  version: 2,
  steps: [
    ledgerStep(alpha, 'one'),
    parallel([ledgerStep(beta, 'two'), ledgerStep(alpha, 'audit')]),
    ledgerStep(gamma, 'three'),
  ],
});

/** The definition of a generated saga (the property test's). */
export function plannedDefinition(plan: PlanElement[]) {
  const toStep = (s: PlanStep) => ledgerStep(LEDGER_SERVICES[s.service], s.name, s);
  return defineSaga<EngineSagaInput, EngineSagaData, LedgerServiceName>({
    ...base,
    name: 'planned',
    version: 1,
    steps: plan.map((e) => ('parallel' in e ? parallel(e.parallel.map(toStep)) : toStep(e))),
  });
}
