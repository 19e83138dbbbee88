import { WorkflowUpdateFailedError } from '@temporalio/client';
import { cancelSagaUpdate } from '../../workflows/saga';
import { REFUSAL, ledger, type LedgerEntry } from './ledger';
import { bundle, startEngine, stateOf, waitForState, type Engine, type SagaHandle } from './harness';
import { ruleSteps, violations } from './rule';
import {
  groupDefinition,
  pivotDefinition,
  plannedDefinition,
  sequentialDefinition,
  type PlanElement,
} from './sagas';

/**
 * The engine's rules on a local Temporal server with synthetic services (see harness.ts): the order of
 * compensations, step kinds, parallel groups, deadlines, and a cancel at every point. Each test reads
 * what happened from the services' ledger.
 */
let engine: Engine;
beforeAll(async () => {
  engine = await startEngine(await bundle(require.resolve('./workflows')));
});
afterAll(async () => {
  await engine?.stop();
});

/** The ledger's entries of a saga as `operation:step:effect`, without the undos' `started` lines. */
const trail = (handle: SagaHandle, keep: (e: LedgerEntry) => boolean = () => true) =>
  ledger
    .of(handle.workflowId)
    .filter((e) => e.effect !== 'started' && keep(e))
    .map((e) => `${e.operation}:${e.step}:${e.effect}`);
const effects = (handle: SagaHandle) => trail(handle, (e) => e.effect === 'applied' || e.effect === 'undone');
const reached = (handle: SagaHandle, step: string) =>
  ledger.waitFor(handle.workflowId, (e) => e.step === step && e.effect === 'reached');
const cancel = (handle: SagaHandle) =>
  handle.executeUpdate(cancelSagaUpdate, { args: [{ by: 'engine-test' }] });
const refusalOf = async (promise: Promise<unknown>): Promise<string> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  return (error as WorkflowUpdateFailedError).cause?.message ?? '';
};
const expectRule = async (handle: SagaHandle, definition: Parameters<typeof ruleSteps>[0]) => {
  const { status } = await stateOf(handle);
  expect(violations(ruleSteps(definition), ledger.of(handle.workflowId), status)).toEqual([]);
};

describe('compensation order', () => {
  test('a business failure at the last step undoes the others in reverse, each from its result', async () => {
    const saga = await engine.start('sequentialSaga', { behaviours: { s4: { kind: 'business' } } });
    const outcome = await saga.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure).toMatchObject({ step: 's4', cancelled: false });
    expect(outcome.failure?.reason).toContain(REFUSAL);
    expect(trail(saga)).toEqual([
      'act:s1:applied',
      'act:s2:applied',
      'act:s3:applied',
      'act:s4:refused',
      // The failed step's outcome is uncertain to the engine: its compensation runs and finds nothing.
      'undo:s4:nothing',
      'undo:s3:undone',
      'undo:s2:undone',
      'undo:s1:undone',
    ]);
    // Each on its own service's queue, each compensation built from its step's result (none for s4's).
    const undos = ledger.of(saga.workflowId).filter((e) => e.operation === 'undo' && e.effect !== 'started');
    expect(undos.map((e) => [e.step, e.service, e.sawResult])).toEqual([
      ['s4', 'alpha', false],
      ['s3', 'gamma', true],
      ['s2', 'beta', true],
      ['s1', 'alpha', true],
    ]);
    const state = await stateOf(saga);
    expect(state.compensations.map((c) => [c.step, c.status])).toEqual([
      ['s4', 'SUCCEEDED'],
      ['s3', 'SUCCEEDED'],
      ['s2', 'SUCCEEDED'],
      ['s1', 'SUCCEEDED'],
    ]);
    expect(state.steps.map((s) => s.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'FAILED']);
    await expectRule(saga, sequentialDefinition);
  });

  test('in parallel mode every compensation starts before any ends', async () => {
    // Each compensation waits until all four have started, which only happens if they run side by side.
    const barrier = { kind: 'barrier', count: 4 } as const;
    const saga = await engine.start(
      'sequentialSaga',
      {
        behaviours: { s4: { kind: 'business' } },
        undoBehaviours: { s1: barrier, s2: barrier, s3: barrier, s4: barrier },
      },
      { compensationMode: 'parallel' },
    );
    expect((await saga.result()).status).toBe('COMPENSATED');
    const undos = ledger.of(saga.workflowId).filter((e) => e.operation === 'undo');
    const lastStart = Math.max(...undos.filter((e) => e.effect === 'started').map((e) => e.at));
    const firstEnd = Math.min(...undos.filter((e) => e.effect !== 'started').map((e) => e.at));
    expect(undos.filter((e) => e.effect === 'started')).toHaveLength(4);
    expect(lastStart).toBeLessThan(firstEnd);
    expect(
      effects(saga)
        .filter((e) => e.startsWith('undo'))
        .sort(),
    ).toEqual(['undo:s1:undone', 'undo:s2:undone', 'undo:s3:undone']);
    expect((await stateOf(saga)).compensationMode).toBe('parallel');
  });

  test('a compensatable step without a compensation is not undone', async () => {
    const plan: PlanElement[] = [
      { name: 'kept', service: 'alpha', kind: 'compensatable', compensated: false },
      { name: 'undoable', service: 'beta', kind: 'compensatable', compensated: true },
      { name: 'refused', service: 'gamma', kind: 'compensatable', compensated: true },
    ];
    const saga = await engine.start('plannedSaga', { plan, behaviours: { refused: { kind: 'business' } } });
    expect((await saga.result()).status).toBe('COMPENSATED');
    expect(effects(saga)).toEqual(['act:kept:applied', 'act:undoable:applied', 'undo:undoable:undone']);
    expect((await stateOf(saga)).compensations.map((c) => c.step)).toEqual(['refused', 'undoable']);
    await expectRule(saga, plannedDefinition(plan));
  });
});

describe('the pivot', () => {
  test("once it started, a user's cancel is refused naming it; steps after it retry until they succeed", async () => {
    const saga = await engine.start('pivotSaga', {
      behaviours: {
        charge: { kind: 'hold', onCancel: 'ignore' },
        notify: { kind: 'business', times: 2 },
        ship: { kind: 'technical', times: 2 },
      },
    });
    await reached(saga, 'charge');
    expect(await refusalOf(cancel(saga))).toBe('saga passed its pivot step charge; it can only complete');
    expect((await stateOf(saga)).status).toBe('RUNNING');
    ledger.release(saga.workflowId, 'charge');
    const outcome = await saga.result();
    expect(outcome.status).toBe('COMPLETED');
    expect(trail(saga, (e) => e.step === 'notify' || e.step === 'ship').sort()).toEqual([
      'act:notify:applied',
      'act:notify:refused',
      'act:notify:refused',
      'act:ship:applied',
      'act:ship:error',
      'act:ship:error',
    ]);
    expect(ledger.of(saga.workflowId).filter((e) => e.operation === 'undo')).toEqual([]);
    const state = await stateOf(saga);
    expect(state.steps.map((s) => [s.name, s.kind, s.group, s.status])).toEqual([
      ['reserve', 'compensatable', undefined, 'SUCCEEDED'],
      ['check', 'compensatable', undefined, 'SUCCEEDED'],
      ['charge', 'pivot', undefined, 'SUCCEEDED'],
      ['notify', 'retriable', 3, 'SUCCEEDED'],
      ['ship', 'retriable', 3, 'SUCCEEDED'],
      ['close', 'retriable', undefined, 'SUCCEEDED'],
    ]);
    await expectRule(saga, pivotDefinition);
  });

  test("once it started, not even Temporal's own cancel stops the saga half-way", async () => {
    const saga = await engine.start('pivotSaga', {
      behaviours: { charge: { kind: 'hold', onCancel: 'abort' } },
    });
    await reached(saga, 'charge');
    await saga.cancel();
    // Give the cancel time to reach the held pivot, were it not shielded from it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    ledger.release(saga.workflowId, 'charge');
    expect((await saga.result()).status).toBe('COMPLETED');
    expect(trail(saga, (e) => e.step === 'charge')).toEqual(['act:charge:reached', 'act:charge:applied']);
    await expectRule(saga, pivotDefinition);
  });

  test('a failing pivot compensates the steps before it, and nothing after it starts', async () => {
    const saga = await engine.start('pivotSaga', { behaviours: { charge: { kind: 'business' } } });
    const outcome = await saga.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure?.step).toBe('charge');
    expect(trail(saga)).toEqual([
      'act:reserve:applied',
      'act:check:applied',
      'act:charge:refused',
      'undo:check:undone',
      'undo:reserve:undone',
    ]);
    await expectRule(saga, pivotDefinition);
  });

  test('it ends the saga deadline: a pivot in flight when the deadline passes completes', async () => {
    // The saga deadline is the subject: 1 s, and the pivot is held past it.
    const saga = await engine.start(
      'pivotSaga',
      { behaviours: { charge: { kind: 'hold', onCancel: 'abort' } } },
      { sagaDeadline: '1s' },
    );
    await reached(saga, 'charge');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    ledger.release(saga.workflowId, 'charge');
    expect((await saga.result()).status).toBe('COMPLETED');
    await expectRule(saga, pivotDefinition);
  });
});

describe('retriable steps', () => {
  test('a business "no" is asked again until it succeeds; the saga completes, nothing is undone', async () => {
    const saga = await engine.start('pivotSaga', { behaviours: { close: { kind: 'business', times: 3 } } });
    const outcome = await saga.result();
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.data.refs).toEqual(expect.arrayContaining(['gamma:close']));
    expect(trail(saga, (e) => e.step === 'close')).toEqual([
      'act:close:refused',
      'act:close:refused',
      'act:close:refused',
      'act:close:applied',
    ]);
    expect(ledger.of(saga.workflowId).filter((e) => e.operation === 'undo')).toEqual([]);
    await expectRule(saga, pivotDefinition);
  });
});

describe('parallel groups', () => {
  test('a failing member cancels the member in flight; succeeded, in-flight and earlier steps are undone', async () => {
    const saga = await engine.start('groupSaga', {
      behaviours: {
        b: { kind: 'hold', onCancel: 'abort' },
        c: { kind: 'hold', onCancel: 'abort', then: 'refuse' },
      },
    });
    await ledger.waitFor(saga.workflowId, (e) => e.step === 'a' && e.effect === 'applied');
    await reached(saga, 'b');
    await reached(saga, 'c');
    ledger.release(saga.workflowId, 'c');
    const outcome = await saga.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure?.step).toBe('c');
    const entries = trail(saga);
    expect(entries).toContain('act:b:cancelled');
    // The group's compensations in any order, then the earlier step's; `last` never started.
    const undos = entries.filter((e) => e.startsWith('undo'));
    expect(undos.slice(0, 3).sort()).toEqual(['undo:a:undone', 'undo:b:nothing', 'undo:c:nothing']);
    expect(undos.slice(3)).toEqual(['undo:first:undone']);
    // The cancelled member's attempt ended before anything was undone.
    expect(entries.indexOf('act:b:cancelled')).toBeLessThan(entries.indexOf(undos[0] as string));
    expect(entries.filter((e) => e.includes(':last:'))).toEqual([]);
    await expectRule(saga, groupDefinition);
  });

  test('a member in flight that outlives the cancel is awaited, and its effect undone', async () => {
    const saga = await engine.start('groupSaga', {
      behaviours: {
        b: { kind: 'hold', onCancel: 'ignore' },
        c: { kind: 'hold', onCancel: 'abort', then: 'refuse' },
      },
    });
    await reached(saga, 'b');
    await reached(saga, 'c');
    ledger.release(saga.workflowId, 'c');
    await waitForState(saga, (s) => s.steps.find((x) => x.name === 'c')?.status === 'FAILED');
    // Nothing is undone while b is in flight.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(trail(saga, (e) => e.operation === 'undo')).toEqual([]);
    ledger.release(saga.workflowId, 'b');
    expect((await saga.result()).status).toBe('COMPENSATED');
    const entries = trail(saga);
    expect(entries.indexOf('act:b:applied')).toBeLessThan(entries.findIndex((e) => e.startsWith('undo')));
    expect(entries).toContain('undo:b:undone');
    await expectRule(saga, groupDefinition);
  });
});

describe('deadlines', () => {
  test('the saga deadline passing cancels the step in flight and compensates', async () => {
    // The saga deadline is the subject: 2 s, with s3 held past it.
    const saga = await engine.start(
      'sequentialSaga',
      { behaviours: { s3: { kind: 'hold', onCancel: 'abort' } } },
      { sagaDeadline: '2s' },
    );
    const outcome = await saga.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure).toEqual({ step: 's3', reason: 'saga deadline (2s) passed', cancelled: false });
    expect(trail(saga)).toEqual([
      'act:s1:applied',
      'act:s2:applied',
      'act:s3:reached',
      'act:s3:cancelled',
      'undo:s3:nothing',
      'undo:s2:undone',
      'undo:s1:undone',
    ]);
    await expectRule(saga, sequentialDefinition);
  });

  test("a step's technical failures are retried until its deadline, then the saga compensates", async () => {
    // The step deadline is the subject: 2 s.
    const saga = await engine.start(
      'sequentialSaga',
      { behaviours: { s2: { kind: 'technical' } } },
      { stepPolicy: { ...engine.settings.stepPolicy, deadline: '2s' } },
    );
    const outcome = await saga.result();
    expect(outcome.status).toBe('COMPENSATED');
    expect(outcome.failure?.step).toBe('s2');
    // Temporal names the last error only when the deadline passes after a failed attempt, not during one.
    expect(outcome.failure?.reason).toMatch(/^deadline passed while retrying(; last error: .*unavailable)?$/);
    expect(trail(saga, (e) => e.step === 's2' && e.operation === 'act').length).toBeGreaterThan(1);
    expect(effects(saga)).toEqual(['act:s1:applied', 'undo:s1:undone']);
    await expectRule(saga, sequentialDefinition);
  });
});

describe('a cancel at every point', () => {
  const steps = ['s1', 's2', 's3', 's4'];
  const cases = steps.flatMap((step, index) =>
    (['abort', 'ignore'] as const).map((onCancel) => ({ step, index, onCancel })),
  );
  test.each(cases)(
    'cancelled while $step is in flight ($onCancel): COMPENSATED with exactly the done steps undone',
    async ({ step, index, onCancel }) => {
      const saga = await engine.start('sequentialSaga', {
        behaviours: { [step]: { kind: 'hold', onCancel } },
      });
      await reached(saga, step);
      expect(await cancel(saga)).toEqual({ status: 'COMPENSATING' });
      expect(await refusalOf(cancel(saga))).toBe('saga is already COMPENSATING; nothing more to cancel');
      // `ignore`: the step outlives the cancel and takes effect; the saga waits for it, then undoes it.
      if (onCancel === 'ignore') ledger.release(saga.workflowId, step);
      const outcome = await saga.result();
      expect(outcome.status).toBe('COMPENSATED');
      expect(outcome.failure).toMatchObject({ step, cancelled: true });
      const done = steps.slice(0, onCancel === 'ignore' ? index + 1 : index);
      expect(effects(saga)).toEqual([
        ...done.map((s) => `act:${s}:applied`),
        ...[...done].reverse().map((s) => `undo:${s}:undone`),
      ]);
      // No step after the cancelled one started; the cancelled one was compensated too.
      expect(trail(saga, (e) => steps.indexOf(e.step) > index)).toEqual([]);
      const final = await stateOf(saga);
      expect(final.compensations.map((c) => c.step)).toEqual(steps.slice(0, index + 1).reverse());
      // The step in flight ended either way; its record says how, and never that it still runs.
      expect(final.steps[index]).toMatchObject({
        name: step,
        status: onCancel === 'ignore' ? 'SUCCEEDED' : 'CANCELLED',
        endedAt: expect.any(String),
      });
      await expectRule(saga, sequentialDefinition);
    },
  );
});
