import { WorkflowUpdateFailedError } from '@temporalio/client';
import fc from 'fast-check';
import { cancelSagaUpdate } from '../../workflows/saga';
import { ledger } from './ledger';
import { bundle, startEngine, stateOf, type Engine } from './harness';
import { ruleSteps, violations, type RuleStep } from './rule';
import {
  LEDGER_SERVICE_NAMES,
  plannedDefinition,
  type Behaviour,
  type PlanElement,
  type PlanStep,
} from './sagas';

/**
 * Property: generated sagas (1–5 elements, some of them parallel groups of 2–3 steps, maybe a pivot with
 * retriable steps after it, some compensatable steps without a compensation, some steps failing once
 * for a technical reason) with a failure point (none, a business "no" at a step, a user's cancel while a
 * step is in flight) finish by the 1987 rule, read from the services' ledgers (rule.ts), and as the
 * failure point says: COMPLETED, or COMPENSATED before the pivot. ENGINE_PROPERTY_RUNS (default 20) and
 * ENGINE_PROPERTY_SEED (to replay a reported failure) tune it.
 */
const RUNS = Number(process.env.ENGINE_PROPERTY_RUNS ?? 20);
const SEED = process.env.ENGINE_PROPERTY_SEED ? Number(process.env.ENGINE_PROPERTY_SEED) : undefined;

type FailurePoint =
  | { kind: 'none' }
  | { kind: 'business'; at: number; times: number }
  | { kind: 'cancel'; at: number; onCancel: 'abort' | 'ignore' };

interface Scenario {
  plan: PlanElement[];
  failure: FailurePoint;
  /** Steps whose first attempt fails for a technical reason (Temporal retries them). */
  flaky: string[];
}

const weighted = <T>(often: T, rarely: T) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(often) }, { weight: 1, arbitrary: fc.constant(rarely) });

const scenarios: fc.Arbitrary<Scenario> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constant('step' as const) },
      { weight: 2, arbitrary: fc.constant('group' as const) },
    ),
    { minLength: 1, maxLength: 5 },
  )
  .chain((shapes) =>
    fc.record({
      shapes: fc.constant(shapes),
      groupSizes: fc.array(fc.integer({ min: 2, max: 3 }), {
        minLength: shapes.length,
        maxLength: shapes.length,
      }),
      pivot: fc.oneof(fc.constant(undefined), fc.constantFrom(...shapes.map((_, i) => i))),
      services: fc.array(fc.constantFrom(...LEDGER_SERVICE_NAMES), { minLength: 15, maxLength: 15 }),
      compensated: fc.array(weighted(true, false), { minLength: 15, maxLength: 15 }),
      flaky: fc.array(weighted(false, true), { minLength: 15, maxLength: 15 }),
      failure: fc.oneof(
        fc.constant({ kind: 'none' as const }),
        fc.record({
          kind: fc.constant('business' as const),
          at: fc.nat(14),
          times: fc.integer({ min: 1, max: 2 }),
        }),
        fc.record({
          kind: fc.constant('cancel' as const),
          at: fc.nat(14),
          onCancel: fc.constantFrom('abort' as const, 'ignore' as const),
        }),
      ),
    }),
  )
  .map(({ shapes, groupSizes, pivot, services, compensated, flaky, failure }): Scenario => {
    // The pivot is a step on its own (a group drawn there becomes one step); retriable steps follow it.
    let n = 0;
    const stepAt = (element: number): PlanStep => {
      const i = n++;
      const kind =
        pivot === undefined || element < pivot ? 'compensatable' : element === pivot ? 'pivot' : 'retriable';
      return {
        name: `s${i + 1}`,
        service: services[i] ?? 'alpha',
        kind,
        compensated: kind === 'compensatable' && (compensated[i] ?? true),
      };
    };
    const plan = shapes.map((shape, element): PlanElement =>
      shape === 'group' && element !== pivot
        ? { parallel: Array.from({ length: groupSizes[element] ?? 2 }, () => stepAt(element)) }
        : stepAt(element),
    );
    const total = n;
    const fixed: FailurePoint = failure.kind === 'none' ? failure : { ...failure, at: failure.at % total };
    return {
      plan,
      failure: fixed,
      flaky: flaky
        .slice(0, total)
        .flatMap((f, i) => (f && (fixed.kind === 'none' || fixed.at !== i) ? [`s${i + 1}`] : [])),
    };
  });

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine(await bundle(require.resolve('./workflows')));
});
afterAll(async () => {
  await engine?.stop();
});

async function check({ plan, failure, flaky }: Scenario): Promise<void> {
  const steps = ruleSteps(plannedDefinition(plan));
  const behaviours: Record<string, Behaviour> = Object.fromEntries(
    flaky.map((name) => [name, { kind: 'technical', times: 1 }]),
  );
  const pivot = steps.find((s) => s.kind === 'pivot');
  const failing = failure.kind === 'none' ? undefined : (steps[failure.at] as RuleStep);
  if (failure.kind === 'business' && failing) {
    behaviours[failing.name] =
      failing.kind === 'retriable' ? { kind: 'business', times: failure.times } : { kind: 'business' };
  }
  if (failure.kind === 'cancel' && failing)
    behaviours[failing.name] = { kind: 'hold', onCancel: failure.onCancel };
  const pastPivot = !!failing && !!pivot && failing.element >= pivot.element;

  const saga = await engine.start('plannedSaga', { plan, behaviours });
  const sagaId = saga.workflowId;
  const entries = () => ledger.of(sagaId);
  try {
    if (failure.kind === 'cancel' && failing) {
      await ledger.waitFor(sagaId, (e) => e.step === failing.name && e.effect === 'reached');
      const answer = await saga.executeUpdate(cancelSagaUpdate, { args: [{ by: 'engine-test' }] }).then(
        (accepted) => accepted,
        (e: unknown) => e,
      );
      if (pastPivot) {
        expect(answer).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((answer as WorkflowUpdateFailedError).cause?.message).toContain(`pivot step ${pivot?.name}`);
      } else {
        expect(answer).toEqual({ status: 'COMPENSATING' });
      }
      if (!pastPivot && failure.onCancel === 'ignore') {
        // The step outlives the cancel: the saga waits for it, so nothing is undone before it ends.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(entries().filter((e) => e.operation === 'undo')).toEqual([]);
      }
      if (pastPivot || failure.onCancel === 'ignore') ledger.release(sagaId, failing.name);
    }
    const outcome = await saga.result();
    const expected =
      failure.kind === 'none' ||
      (failure.kind === 'cancel' && pastPivot) ||
      (failure.kind === 'business' && failing?.kind === 'retriable')
        ? 'COMPLETED'
        : 'COMPENSATED';
    expect(outcome.status).toBe(expected);
    expect((await stateOf(saga)).status).toBe(expected);

    expect(violations(steps, entries(), outcome.status)).toEqual([]);
    if (!failing) return;
    const effectOf = (name: string) =>
      entries()
        .filter((e) => e.step === name && e.operation === 'act')
        .map((e) => e.effect);
    if (expected === 'COMPENSATED') {
      // No step after the failure point started.
      expect(
        entries().filter((e) => (steps.find((s) => s.name === e.step)?.element ?? 0) > failing.element),
      ).toEqual([]);
      expect(outcome.failure?.cancelled).toBe(failure.kind === 'cancel');
      if (failure.kind === 'business' || !('parallel' in (plan[failing.element] as PlanElement)))
        expect(outcome.failure?.step).toBe(failing.name);
      const tookEffect = failure.kind === 'cancel' && failure.onCancel === 'ignore';
      expect(effectOf(failing.name).includes('applied')).toBe(tookEffect);
    } else if (failure.kind === 'business') {
      // A retriable step's business "no" was asked again until it succeeded.
      expect(effectOf(failing.name)).toEqual([...Array<string>(failure.times).fill('refused'), 'applied']);
    }
  } finally {
    if (failing) ledger.release(sagaId, failing.name);
  }
}

test(
  'every generated saga finishes by the 1987 rule: T1..Tn, or T1..Tj then Cj..C1',
  async () => {
    await fc.assert(fc.asyncProperty(scenarios, check), {
      numRuns: RUNS,
      ...(SEED === undefined ? {} : { seed: SEED }),
    });
  },
  60_000 + RUNS * 20_000,
);
