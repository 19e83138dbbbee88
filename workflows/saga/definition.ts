import type { CallPolicy } from '../../shared/saga-settings';
import type { ActivityMeta } from '../../shared/activity-meta';

/**
 * A saga is a list of steps. Each step names the activity that performs it on its service's task queue,
 * the activity that undoes it, and (optionally) its own retry policy and timeouts.
 */

// Activities take their input and the engine's ActivityMeta; `any` is what lets any such module fit.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyActivity = (input: any, meta: ActivityMeta) => Promise<unknown>;
export type ActivityModule = Record<string, AnyActivity>;

/** One activity call: which service runs it, which activity, with what input. */
export interface ActivityCall<Result = unknown> {
  service: string;
  activity: string;
  input: unknown;
  /** Phantom field: carries the activity's result type to the step's onResult. */
  readonly __result?: Result;
}

/**
 * Typed builder of activity calls for one service: `orders.call('createOrder', input)` checks the name
 * and the input against the service's activity module.
 */
export function service<A extends ActivityModule>(name: string) {
  return {
    call<K extends keyof A & string>(
      activity: K,
      input: Parameters<A[K]>[0],
    ): ActivityCall<Awaited<ReturnType<A[K]>>> {
      return { service: name, activity, input };
    },
  };
}

export interface SagaContext<Input, Data> {
  sagaId: string;
  input: Input;
  /** What steps learned (ids, references); returned as the saga's outcome data. */
  data: Data;
}

export interface SagaStep<Input, Data, Result = unknown> {
  name: string;
  action: (ctx: SagaContext<Input, Data>) => ActivityCall<Result>;
  onResult?: (ctx: SagaContext<Input, Data>, result: Result) => void;
  /**
   * Undoes the step. Registered before the action runs, so an action whose outcome is uncertain
   * (timeout, crash) is undone too: compensations must accept "nothing to undo".
   */
  compensation?: (ctx: SagaContext<Input, Data>) => ActivityCall;
  /** Overrides of the saga's step policy for this action. */
  policy?: Partial<CallPolicy>;
  /** Overrides of the saga's compensation policy for this step's compensation. */
  compensationPolicy?: Partial<CallPolicy>;
}

export interface SagaDefinition<Input, Data> {
  name: string;
  steps: SagaStep<Input, Data, never>[];
  initialData: () => Data;
}

/**
 * Returns the step builder of one saga: it ties each step's result type to its own onResult while the
 * saga's list holds steps of many result types.
 */
export function stepsOf<Input, Data>() {
  return <Result>(definition: SagaStep<Input, Data, Result>): SagaStep<Input, Data, never> =>
    definition as unknown as SagaStep<Input, Data, never>;
}

export function defineSaga<Input, Data>(
  definition: SagaDefinition<Input, Data>,
): SagaDefinition<Input, Data> {
  const names = new Set<string>();
  for (const { name } of definition.steps) {
    if (names.has(name)) throw new Error(`saga ${definition.name}: duplicate step name ${name}`);
    names.add(name);
  }
  return definition;
}
