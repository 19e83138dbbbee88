import type { temporal } from '@temporalio/proto';
import { versionMarker } from '../../workflows/saga/definition';
import { ledger } from './ledger';
import { bundle, startEngine, stateOf, type Engine, type SagaHandle } from './harness';
import { ruleSteps, violations } from './rule';
import { versionedV1, versionedV2 } from './sagas';

/**
 * Versioning at the engine level: an orchestrator with only version 1 of a saga (release-v1.ts) starts
 * one, which is held at its second step while that orchestrator is replaced by one with versions 1 and 2
 * (workflows.ts). The saga finishes on version 1; a new one runs version 2 and records its marker.
 */
let engine: Engine;
beforeAll(async () => {
  engine = await startEngine(null);
});
afterAll(async () => {
  await engine?.stop();
});

/** The patch ids of the markers in a saga's history (Core's patch markers keep them under `patch-data`). */
async function markersOf(handle: SagaHandle): Promise<string[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).flatMap((event: temporal.api.history.v1.IHistoryEvent) => {
    const data = event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString()) as { id: string }).id] : [];
  });
}

const acted = (handle: SagaHandle) =>
  ledger
    .of(handle.workflowId)
    .filter((e) => e.operation === 'act' && e.effect === 'applied')
    .map((e) => e.step);

test('a saga started on version 1 finishes on it after a deploy mid-way; a new saga runs version 2', async () => {
  const [oldCode, currentCode] = await Promise.all([
    bundle(require.resolve('./release-v1')),
    bundle(require.resolve('./workflows')),
  ]);
  // No workflow cache on the old release: nothing of the saga stays with it once it stops.
  const old = await engine.orchestrator(oldCode, { maxCachedWorkflows: 0 });
  const started = await engine.start('versionedSaga', {
    behaviours: { two: { kind: 'hold', onCancel: 'abort' } },
  });
  await ledger.waitFor(started.workflowId, (e) => e.step === 'two' && e.effect === 'reached');
  expect((await stateOf(started)).sagaVersion).toBe(1);

  // The deploy: the old orchestrator stops while `two` is in flight; the current one takes over.
  await old.stop();
  await engine.orchestrator(currentCode);
  ledger.release(started.workflowId, 'two');
  expect((await started.result()).status).toBe('COMPLETED');
  const oldState = await stateOf(started);
  expect(oldState.sagaVersion).toBe(1);
  expect(oldState.steps.map((s) => s.name)).toEqual(['one', 'two', 'three']);
  expect(acted(started)).toEqual(['one', 'two', 'three']);
  expect(await markersOf(started)).not.toContain(versionMarker(versionedV2));
  expect(violations(ruleSteps(versionedV1), ledger.of(started.workflowId), oldState.status)).toEqual([]);

  const fresh = await engine.start('versionedSaga');
  expect((await fresh.result()).status).toBe('COMPLETED');
  const freshState = await stateOf(fresh);
  expect(freshState.sagaVersion).toBe(2);
  expect(freshState.steps.map((s) => [s.name, s.group])).toEqual([
    ['one', undefined],
    ['two', 1],
    ['audit', 1],
    ['three', undefined],
  ]);
  expect(acted(fresh).sort()).toEqual(['audit', 'one', 'three', 'two']);
  expect(await markersOf(fresh)).toContain(versionMarker(versionedV2));
});
