import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NativeConnection, bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { setProviderOutage } from '../../activities/payments/provider-store';
import { createOrchestratorWorker } from '../../worker/workers';
import { latestOrderSaga } from '../../workflows/order-saga';
import { versionMarker } from '../../workflows/saga/definition';
import { OUTCOME_MEMO_PATCH } from '../../workflows/saga/engine';
import { requireEnv, TEST_ENV } from '../support/env';
import { openServiceDbs } from '../support/rows';
import { sampleOrder, startSaga, stateOf, waitForState } from '../support/orders';
import { startStack, testDataConverter, type Stack } from '../support/stack';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/telemetry';
import { FAILURE_CONVERTER_PATH } from '../../shared/encryption/config';
import { dropDatabaseIfExists, ensureDatabase } from '../../scripts/db/ensure-database';

/**
 * Deploying version N+1 of a saga while sagas of version N are in flight and parked: the orchestrator of
 * the old release (order saga v1 only) starts sagas and is stopped while one waits for a provider that is
 * down and another is parked on a failing compensation; the current orchestrator (v1 and v2) takes over.
 * The old sagas finish on v1's steps, new sagas run v2's, and nothing is lost or done twice.
 */
describe('a new saga version deploys over sagas of the old one', () => {
  let stack: Stack;
  let connection: NativeConnection;
  const providerUrl = (() => {
    const url = new URL(requireEnv(TEST_ENV.providerDb));
    url.pathname = `${url.pathname}_versioning`;
    return url.toString();
  })();
  const dbs = openServiceDbs({ providerDatabaseUrl: providerUrl });
  // Every orchestrator this test starts is stopped in afterAll too: a worker left polling after a failed
  // assertion keeps Jest from ever exiting.
  const orchestrators: Array<{ worker: Worker; running: Promise<void> }> = [];

  beforeAll(async () => {
    await ensureDatabase(providerUrl);
    stack = await startStack({ orchestrator: false, providerDatabaseUrl: providerUrl });
    connection = await NativeConnection.connect({ address: requireEnv(TEST_ENV.temporalAddress) });
  });
  afterAll(async () => {
    for (const { worker, running } of orchestrators) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
    }
    await stack?.stop();
    await connection?.close();
    await dbs.close();
    await dropDatabaseIfExists(providerUrl);
  });

  const reservationOf = async (sagaId: string) =>
    ((await dbs.rowsOf(sagaId)) as { reservation?: { status: string } | null }).reservation ?? null;

  const orchestrator = async (bundlePath: string): Promise<{ worker: Worker; running: Promise<void> }> => {
    const { worker } = await createOrchestratorWorker(
      connection,
      {
        TEMPORAL_ADDRESS: requireEnv(TEST_ENV.temporalAddress),
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
        TASK_QUEUE_PREFIX: stack.prefix,
        LOG_LEVEL: 'warn',
        WORKER_MAX_CONCURRENT_ACTIVITIES: 100,
        WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: 40,
        WORKFLOW_BUNDLE_PATH: bundlePath,
      },
      // The run's encrypting data converter, as every orchestrator of the tests has it.
      { dataConverter: testDataConverter() },
    );
    const started = { worker, running: worker.run() };
    orchestrators.push(started);
    return started;
  };

  test('old sagas finish on version 1, new ones run version 2', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../fixtures/releases/order-saga-v1'),
      // Built like the current bundle (global-setup.ts): the same interceptors and failure converter.
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    const oldBundle = path.join(mkdtempSync(path.join(tmpdir(), 'saga-release-')), 'v1.js');
    writeFileSync(oldBundle, code);
    const old = await orchestrator(oldBundle);

    // Parked: not serviceable, and the refund fails until an operator steps in (deadline short for this saga).
    const parkedId = `order-${randomUUID()}`;
    await dbs.payments.providerFault.create({
      data: { id: `fault-${parkedId}`, sagaId: parkedId, operation: 'release', message: 'refund refused' },
    });
    const order = sampleOrder();
    const parked = await startSaga(
      stack,
      { ...order, shippingAddress: { ...order.shippingAddress, country: 'AQ' } },
      { ...stack.settings, compensationPolicy: { ...stack.settings.compensationPolicy, deadline: '4s' } },
      parkedId,
    );
    await waitForState(parked, (s) => s.status === 'COMPENSATION_FAILED', 60_000);
    // Held at a step: the provider is down, so authorizePayment retries (shipped defaults: 10 min).
    await setProviderOutage(providerUrl, new Date(Date.now() + 10 * 60_000), 'provider maintenance');
    const waiting = await startSaga(stack);
    await waitForState(
      waiting,
      (s) => s.steps[1]?.name === 'authorizePayment' && s.steps[1].status === 'RUNNING',
    );

    // Deploy: the old orchestrator stops, the current one (all released versions) takes over.
    old.worker.shutdown();
    await old.running;
    const current = await orchestrator(requireEnv(TEST_ENV.workflowBundle));
    const fresh = await startSaga(stack);
    await setProviderOutage(providerUrl, null);
    await dbs.payments.providerFault.deleteMany({ where: { sagaId: parkedId } });
    await parked.executeUpdate('resumeCompensation');

    const [waited, resumed, freshOutcome] = await Promise.all([
      waiting.result(),
      parked.result(),
      fresh.result(),
    ]);
    expect([waited.status, resumed.status, freshOutcome.status]).toEqual([
      'COMPLETED',
      'COMPENSATED',
      'COMPLETED',
    ]);

    // The old sagas ran version 1's steps to the end: no stock was reserved for them.
    for (const handle of [waiting, parked]) {
      const state = await stateOf(handle);
      expect(state.sagaVersion).toBe(1);
      expect(state.steps.map((s) => s.name)).toEqual([
        'createOrder',
        'authorizePayment',
        'scheduleShipment',
        'capturePayment',
        'approveOrder',
      ]);
      expect(await reservationOf(handle.workflowId)).toBeNull();
    }
    const waitedRows = await dbs.rowsOf(waiting.workflowId);
    expect(waitedRows.effects.payments).toEqual(['authorize:authorized', 'capture:captured']);
    expect(waitedRows.charges.map((c) => c.status)).toEqual(['captured']);
    const parkedRows = await dbs.rowsOf(parkedId);
    expect([parkedRows.order?.status, parkedRows.payment?.status]).toEqual(['CANCELLED', 'VOIDED']);

    // The new saga runs version 2 and its history carries the version's marker.
    const freshState = await stateOf(fresh);
    expect(freshState.sagaVersion).toBe(latestOrderSaga.version);
    expect(freshState.steps.map((s) => s.name)).toContain('reserveStock');
    expect((await reservationOf(fresh.workflowId))?.status).toBe('RESERVED');
    const markersOf = async (handle: typeof fresh) =>
      ((await handle.fetchHistory()).events ?? []).flatMap((e) => {
        const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
        return data ? [(JSON.parse(Buffer.from(data).toString()) as { id: string }).id] : [];
      });
    // Core writes each patch marker with its id in the `patch-data` detail (JSON, never encrypted). The old
    // sagas, finished by the new orchestrator, never took version 2's marker.
    // Both deployments run this engine (only the order saga's versions differ), so all three sagas take
    // the engine's outcome-memo marker.
    expect(await markersOf(fresh)).toEqual([
      'forward-recovery',
      OUTCOME_MEMO_PATCH,
      versionMarker(latestOrderSaga),
    ]);
    expect(await markersOf(waiting)).toEqual(['forward-recovery', OUTCOME_MEMO_PATCH]);
    expect(await markersOf(parked)).toEqual(['forward-recovery', OUTCOME_MEMO_PATCH]);
    current.worker.shutdown();
    await current.running;
  });
});
