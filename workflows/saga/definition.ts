import type { CallPolicy } from '../../shared/saga-settings';
import type { ActivityMeta } from '../../shared/activity-meta';

/**
 * The engine's public API for defining sagas: services, steps, parallel groups, versions. Workflow-safe
 * (plain data and pure functions); nothing here knows which services or sagas exist.
 */

// Activities take their input and the engine's ActivityMeta; `any` is what lets any such module fit.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyActivity = (input: any, meta: ActivityMeta) => Promise<unknown>;
export type ActivityModule = Record<string, AnyActivity>;

/** One activity call: which service runs it, which activity, with what input. */
export interface ActivityCall<Result = unknown, Service extends string = string> {
  service: Service;
  activity: string;
  input: unknown;
  /** Phantom field: carries the activity's result type to the step's onResult and compensation. */
  readonly __result?: Result;
}

/** A service as sagas see it: its name (its task queue is the prefix and this name) and its activities. */
export interface ServiceRef<Name extends string = string, A extends ActivityModule = ActivityModule> {
  readonly name: Name;
  /** A typed call: the activity's name and input are checked against the service's activity module. */
  call<K extends keyof A & string>(
    activity: K,
    input: Parameters<A[K]>[0],
  ): ActivityCall<Awaited<ReturnType<A[K]>>, Name>;
}

/**
 * Declares a service for sagas, typed by its activity module (import it as a type only: workflow code
 * must not load the service's database client): `defineService<PaymentsActivities>()('payments')`.
 */
export function defineService<A extends ActivityModule>() {
  return <Name extends string>(name: Name): ServiceRef<Name, A> => ({
    name,
    call: (activity, input) => ({ service: name, activity, input }),
  });
}

export interface SagaContext<Input, Data> {
  sagaId: string;
  input: Input;
  /** What steps learned (ids, references); returned as the saga's outcome data. */
  data: Data;
}

/**
 * Richardson's step kinds. A compensatable step can be undone; the pivot is the go/no-go step (neither
 * undone nor retried forever); retriable steps follow the pivot and are retried until they succeed.
 */
export type StepKind = 'compensatable' | 'pivot' | 'retriable';

export interface SagaStep<Input, Data, Result = unknown, Service extends string = string> {
  name: string;
  kind?: StepKind;
  action: (ctx: SagaContext<Input, Data>) => ActivityCall<Result, Service>;
  onResult?: (ctx: SagaContext<Input, Data>, result: Result) => void;
  /**
   * Undoes the step. Built when the saga compensates: from the step's result when it succeeded, with
   * `undefined` when its outcome is uncertain (it timed out, was cancelled in flight, or failed), so it
   * must then address what the step may have done from the saga's input, and accept "nothing to undo".
   */
  compensation?: (
    ctx: SagaContext<Input, Data>,
    result: Result | undefined,
  ) => ActivityCall<unknown, Service>;
  /** Overrides of the saga's step policy for this action. */
  policy?: Partial<CallPolicy>;
  /** Overrides of the saga's compensation policy for this step's compensation. */
  compensationPolicy?: Partial<CallPolicy>;
}

/** Steps that run concurrently; if one fails, the others in flight are cancelled and all are undone. */
export interface ParallelGroup<Input, Data, Service extends string = string> {
  parallel: SagaStep<Input, Data, never, Service>[];
}

export type SagaElement<Input, Data, Service extends string = string> =
  SagaStep<Input, Data, never, Service> | ParallelGroup<Input, Data, Service>;

export interface SagaDefinition<Input, Data, Service extends string = string> {
  name: string;
  /** 1 for the first released definition; each change that alters what a saga does is a new version. */
  version: number;
  /** The services the saga calls; the orchestrator checks at start that each is deployed. */
  services: readonly ServiceRef<Service>[];
  steps: SagaElement<Input, Data, Service>[];
  initialData: () => Data;
}

/**
 * Returns the step builder of one saga: it ties each step's result type to its own onResult and
 * compensation while the saga's list holds steps of many result types.
 */
export function stepsOf<Input, Data>() {
  return <Result, Service extends string>(
    definition: SagaStep<Input, Data, Result, Service>,
  ): SagaStep<Input, Data, never, Service> => definition as unknown as SagaStep<Input, Data, never, Service>;
}

/** A group of steps run concurrently. */
export function parallel<Input, Data, Service extends string>(
  steps: SagaStep<Input, Data, never, Service>[],
): ParallelGroup<Input, Data, Service> {
  return { parallel: steps };
}

export function isParallelGroup<Input, Data>(
  element: SagaElement<Input, Data>,
): element is ParallelGroup<Input, Data> {
  return 'parallel' in element;
}

/** Each step with the index of its parallel group (undefined for a step on its own). */
export function flattenSteps<Input, Data>(
  definition: Pick<SagaDefinition<Input, Data>, 'steps'>,
): { step: SagaStep<Input, Data, never>; group?: number }[] {
  return definition.steps.flatMap((element, index) =>
    isParallelGroup(element) ? element.parallel.map((step) => ({ step, group: index })) : [{ step: element }],
  );
}

/**
 * Checks a definition when its module loads (the orchestrator loads every saga at start, so a bad one
 * stops the worker from starting, never a saga mid-way). Services a step calls must be among the declared
 * ones: the type parameter makes that a type error (the steps cannot widen the declared service names).
 */
export function defineSaga<Input, Data, Service extends string = string>(
  definition: Omit<SagaDefinition<Input, Data, Service>, 'steps'> & {
    steps: NoInfer<SagaElement<Input, Data, Service>>[];
  },
): SagaDefinition<Input, Data, Service> {
  const fail = (why: string): never => {
    throw new Error(`saga ${definition.name} v${definition.version}: ${why}`);
  };
  if (!Number.isInteger(definition.version) || definition.version < 1)
    fail('version must be an integer >= 1');
  const names = new Set<string>();
  let pivot: string | undefined;
  for (const element of definition.steps) {
    const members = isParallelGroup(element) ? element.parallel : [element];
    if (isParallelGroup(element) && members.length < 2) fail('a parallel group needs at least two steps');
    for (const step of members) {
      const kind = step.kind ?? 'compensatable';
      if (names.has(step.name)) fail(`duplicate step name ${step.name}`);
      names.add(step.name);
      if (kind === 'pivot') {
        if (pivot) fail(`two pivot steps (${pivot}, ${step.name})`);
        if (isParallelGroup(element)) fail(`the pivot ${step.name} cannot run in a parallel group`);
        if (step.compensation) fail(`the pivot ${step.name} cannot have a compensation`);
        pivot = step.name;
      } else if (kind === 'retriable') {
        if (!pivot) fail(`retriable step ${step.name} must follow the pivot`);
        if (step.compensation) fail(`retriable step ${step.name} cannot have a compensation`);
      } else if (pivot) {
        fail(
          `compensatable step ${step.name} follows the pivot ${pivot}; steps after the pivot are retriable`,
        );
      }
    }
  }
  if (names.size === 0) fail('a saga needs at least one step');
  return definition as SagaDefinition<Input, Data, Service>;
}

/**
 * The Temporal marker of a definition version. Sagas record the marker of the version they started on;
 * the first version has none, so histories from before versioning replay as version 1.
 */
export function versionMarker(definition: { name: string; version: number }): string {
  return `saga:${definition.name}:v${definition.version}`;
}

/** Checks the released versions of one saga, oldest first; returns them. */
export function checkVersions<D extends { name: string; version: number }>(
  versions: readonly D[],
): readonly D[] {
  const first = versions[0];
  if (!first) throw new Error('a saga workflow needs at least one definition version');
  versions.forEach((v, i) => {
    if (v.name !== first.name) throw new Error(`saga versions mix ${first.name} and ${v.name}`);
    if (i > 0 && v.version <= (versions[i - 1] as D).version) {
      throw new Error(`saga ${first.name}: versions must be listed oldest first, each higher than the last`);
    }
  });
  return versions;
}
