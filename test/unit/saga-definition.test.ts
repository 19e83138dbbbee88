import { orders } from '../../activities/orders/service';
import { payments } from '../../activities/payments/service';
import { catalogProblems } from '../../workflows/catalog';
import { defineSaga, parallel, stepsOf } from '../../workflows/saga/definition';

/**
 * What a definition gets wrong fails before any saga runs: names at type-check (the @ts-expect-error
 * lines below fail `npm run typecheck` if they stop being errors), rules when the module loads, services
 * the deployment lacks when the orchestrator starts.
 */
interface Input {
  orderId: string;
}
const step = stepsOf<Input, Record<string, never>>();
const cancel = step({
  name: 'cancel',
  action: ({ input }) =>
    orders.call('cancelOrder', { orderId: input.orderId, customerId: 'c', currency: 'EUR' }),
});
const base = { name: 'test', version: 1, initialData: () => ({}) };

describe('type-checked names', () => {
  test('an activity the service does not have, or a wrong input, does not compile', () => {
    // @ts-expect-error: the orders service has no activity releasePayment
    const wrongActivity = () => orders.call('releasePayment', { orderId: 'o', currency: 'EUR' });
    // @ts-expect-error: cancelOrder needs customerId and currency
    const wrongInput = () => orders.call('cancelOrder', { orderId: 'o' });
    expect([typeof wrongActivity, typeof wrongInput]).toEqual(['function', 'function']);
  });

  test('a step calling a service the saga does not declare does not compile', () => {
    const build = () =>
      defineSaga<Input, Record<string, never>, 'orders'>({
        ...base,
        services: [orders],
        steps: [
          cancel,
          // @ts-expect-error: payments is not among the saga's services
          step({
            name: 'release',
            action: () => payments.call('releasePayment', { orderId: 'o', currency: 'EUR' }),
          }),
        ],
      });
    expect(build).not.toThrow();
  });
});

describe('rules checked when the definition loads', () => {
  const pivot = step({ ...cancel, name: 'pivot', kind: 'pivot' });
  const retriable = step({ ...cancel, name: 'after', kind: 'retriable' });
  const compensatable = step({ ...cancel, name: 'undoable', compensation: cancel.action });
  const define = (steps: Parameters<typeof defineSaga<Input, Record<string, never>, 'orders'>>[0]['steps']) =>
    defineSaga<Input, Record<string, never>, 'orders'>({ ...base, services: [orders], steps });

  test.each([
    [
      'a compensatable step after the pivot',
      [pivot, compensatable],
      /compensatable step undoable follows the pivot/,
    ],
    ['a plain step after the pivot', [pivot, step({ ...cancel, name: 'plain' })], /follows the pivot/],
    ['a retriable step before the pivot', [retriable, pivot], /must follow the pivot/],
    ['two pivots', [pivot, step({ ...cancel, name: 'pivot2', kind: 'pivot' })], /two pivot steps/],
    ['a pivot in a parallel group', [parallel([pivot, compensatable])], /cannot run in a parallel group/],
    [
      'a pivot with a compensation',
      [step({ ...pivot, compensation: cancel.action })],
      /cannot have a compensation/,
    ],
    ['duplicate names', [cancel, cancel], /duplicate step name cancel/],
    ['a group of one', [parallel([cancel])], /at least two steps/],
    ['no steps', [], /at least one step/],
  ])('%s is rejected', (_, steps, message) => {
    expect(() => define(steps)).toThrow(message);
  });

  test('compensatable steps, then the pivot, then retriable ones (also in a group) are accepted', () => {
    const ok = define([
      compensatable,
      pivot,
      parallel([retriable, step({ ...cancel, name: 'after2', kind: 'retriable' })]),
    ]);
    expect(ok.steps).toHaveLength(3);
  });
});

describe('services checked when the orchestrator starts', () => {
  test('every saga in the catalogue calls only services this deployment registers', () => {
    expect(catalogProblems(['orders', 'payments', 'shipments', 'inventory'])).toEqual([]);
  });

  test('a saga calling a service the deployment does not register is named', () => {
    expect(catalogProblems(['orders', 'shipments'])).toEqual(
      expect.arrayContaining([expect.stringMatching(/orderSaga \(saga order v1\) calls service payments/)]),
    );
  });
});
