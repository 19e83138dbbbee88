import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  ProviderError,
  SimulatedProvider,
  setProviderOutage,
} from '../../activities/payments/provider-store';
import { providerKeys } from '../../activities/payments/provider';
import { paymentIdOf } from '../../activities/payments/activities';
import { openServiceDbs } from '../support/rows';
import { attemptsOf, SAMPLE_TOTAL, sampleOrder, startSaga, stateOf, stepNamed } from '../support/orders';
import { startStack, type Stack } from '../support/stack';
import { requireEnv, TEST_ENV } from '../support/env';
import { dropDatabaseIfExists, ensureDatabase } from '../../scripts/db/ensure-database';
import { waitUntil } from '../support/order-history';

/**
 * The simulated provider against its own store: idempotency keys, per-key transient failures, outage. The
 * outage switch is provider-wide, so this file uses a provider store of its own (other test files run
 * sagas against the run's store at the same time).
 */
describe('simulated payment provider', () => {
  const own = new URL(requireEnv(TEST_ENV.providerDb));
  own.pathname = `${own.pathname}_own`;
  const url = () => own.toString();
  let provider: SimulatedProvider;
  beforeAll(async () => {
    await dropDatabaseIfExists(url());
    await ensureDatabase(url());
    provider = new SimulatedProvider(url(), 4);
  });
  afterAll(async () => {
    await provider.close();
    await dropDatabaseIfExists(url());
  });

  const authorizeWith = (store: SimulatedProvider, paymentId: string, token = 'tok_visa', amount = 100) =>
    store.authorize({
      idempotencyKey: providerKeys(paymentId).authorize,
      paymentId,
      amount,
      currency: 'EUR',
      token,
    });
  const authorize = (paymentId: string, token = 'tok_visa', amount = 100) =>
    authorizeWith(provider, paymentId, token, amount);
  const newPaymentId = () => paymentIdOf(`ord_${randomUUID()}`);

  test('a repeated key returns the existing charge; concurrent repeats make one charge', async () => {
    const paymentId = paymentIdOf(`ord_${randomUUID()}`);
    const answers = await Promise.all(Array.from({ length: 8 }, () => authorize(paymentId)));
    expect(new Set(answers.map((a) => a.chargeId)).size).toBe(1);
    expect(answers[0]).toMatchObject({ status: 'authorized' });
    expect(await provider.chargesOf(paymentId)).toHaveLength(1);
    expect((await provider.requestOf(paymentId))?.calls).toBe(8);
  });

  test('a key re-used for another request is refused (422), not answered with the other charge', async () => {
    const paymentId = paymentIdOf(`ord_${randomUUID()}`);
    await authorize(paymentId);
    await expect(authorize(paymentId, 'tok_visa', 999)).rejects.toMatchObject({
      code: 'IdempotencyKeyReused',
      status: 422,
    });
    expect(await provider.chargesOf(paymentId)).toHaveLength(1);
  });

  test('tok_processingError_N fails the first N calls of a key, counted by the store, whoever calls', async () => {
    const paymentId = paymentIdOf(`ord_${randomUUID()}`);
    // Two providers (two worker processes) share the count: it lives in the store, not in a caller.
    const other = new SimulatedProvider(url(), 1);
    try {
      await expect(authorize(paymentId, 'tok_processingError_3')).rejects.toMatchObject({
        code: 'ProviderUnavailable',
        status: 503,
      });
      await expect(authorizeWith(other, paymentId, 'tok_processingError_3')).rejects.toBeInstanceOf(
        ProviderError,
      );
      await expect(authorize(paymentId, 'tok_processingError_3')).rejects.toMatchObject({ retryable: true });
      expect(await provider.chargesOf(paymentId)).toEqual([]);
      expect(await authorize(paymentId, 'tok_processingError_3')).toMatchObject({ status: 'authorized' });
      // Another payment's key has its own count.
      const next = paymentIdOf(`ord_${randomUUID()}`);
      await expect(authorize(next, 'tok_processingError_1')).rejects.toMatchObject({
        code: 'ProviderUnavailable',
      });
    } finally {
      await other.close();
    }
  });

  test('idle connections ended by the server (a database restart) neither crash the process nor fail the next call', async () => {
    const lost: Error[] = [];
    const other = new SimulatedProvider(url(), 3, (error) => lost.push(error));
    try {
      // Three connections open, then idle in the pool.
      await Promise.all(Array.from({ length: 3 }, () => authorizeWith(other, newPaymentId())));
      const admin = new Client({ connectionString: url() });
      await admin.connect();
      try {
        // What a restart or failover does to every session: 57P01, "terminating connection due to
        // administrator command". Without the pool's listener this is an uncaught error that kills the process.
        const { rowCount } = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        );
        expect(rowCount).toBeGreaterThanOrEqual(3);
      } finally {
        await admin.end();
      }
      await waitUntil(
        'three lost connections reported',
        async () => lost.length,
        (n) => n >= 3,
        10_000,
      );
      expect(lost.length).toBeGreaterThanOrEqual(3);
      expect(lost.map((error) => (error as { code?: string }).code)).toContain('57P01');
      // The pool opened new connections: the next calls go through and charge once each.
      const charged = await Promise.all(
        Array.from({ length: 3 }, () => authorizeWith(other, newPaymentId())),
      );
      expect(charged.map((answer) => answer.status)).toEqual(['authorized', 'authorized', 'authorized']);
    } finally {
      await other.close();
    }
  });

  test('capture and release have keys of their own and act once', async () => {
    const paymentId = paymentIdOf(`ord_${randomUUID()}`);
    const keys = providerKeys(paymentId);
    const { chargeId } = await authorize(paymentId);
    if (!chargeId) throw new Error('no charge');
    expect(await provider.capture({ idempotencyKey: keys.capture, chargeId })).toMatchObject({
      status: 'captured',
    });
    expect(await provider.capture({ idempotencyKey: keys.capture, chargeId })).toMatchObject({
      status: 'captured',
    });
    expect(await provider.release({ idempotencyKey: keys.release, paymentId })).toMatchObject({
      chargeId,
      status: 'refunded',
    });
    expect(await provider.release({ idempotencyKey: keys.release, paymentId })).toMatchObject({
      status: 'refunded',
    });
    expect(await provider.chargesOf(paymentId)).toEqual([expect.objectContaining({ status: 'refunded' })]);
    // Releasing a payment the provider never charged: nothing to release.
    const never = paymentIdOf(`ord_${randomUUID()}`);
    expect(
      await provider.release({ idempotencyKey: providerKeys(never).release, paymentId: never }),
    ).toMatchObject({
      chargeId: null,
      status: 'none',
    });
  });

  test('the outage switch fails every call with ProviderUnavailable until its time', async () => {
    const paymentId = paymentIdOf(`ord_${randomUUID()}`);
    await setProviderOutage(url(), new Date(Date.now() + 60_000), 'scheduled maintenance');
    await expect(authorize(paymentId)).rejects.toMatchObject({ code: 'ProviderUnavailable', status: 503 });
    await expect(
      provider.release({ idempotencyKey: providerKeys(paymentId).release, paymentId }),
    ).rejects.toMatchObject({
      code: 'ProviderUnavailable',
      message: expect.stringMatching(/scheduled maintenance/),
    });
    expect(await provider.requestOf(paymentId)).toBeUndefined(); // a provider that is down counts nothing
    // ...for the key: the outage counts the calls it refused, and a new outage counts from zero.
    expect(await provider.outage()).toMatchObject({ reason: 'scheduled maintenance', refusedCalls: 2 });
    await setProviderOutage(url(), new Date(Date.now() - 1000));
    expect(await provider.outage()).toMatchObject({ refusedCalls: 0 });
    expect(await authorize(paymentId)).toMatchObject({ status: 'authorized' });
    expect(await provider.outage()).toMatchObject({ refusedCalls: 0 }); // over: calls are not refused
    await setProviderOutage(url(), null);
  });

  describe('in a saga', () => {
    let stack: Stack;
    const dbs = openServiceDbs({ providerDatabaseUrl: url() });
    beforeAll(async () => {
      stack = await startStack({ providerDatabaseUrl: url() });
    });
    afterAll(async () => {
      await stack?.stop();
      await dbs.close();
    });

    test('a provider outage is retried through, then the saga completes with one charge', async () => {
      await setProviderOutage(url(), new Date(Date.now() + 60_000));
      const handle = await startSaga(stack, sampleOrder());
      // The outage ends once it has refused the saga's authorization (as the provider counts it), however
      // long the saga took to get there.
      while (((await dbs.provider.outage())?.refusedCalls ?? 0) === 0) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await setProviderOutage(url(), null);
      const outcome = await handle.result();
      expect(outcome.status).toBe('COMPLETED');
      const state = await stateOf(handle);
      expect(stepNamed(state, 'authorizePayment')?.status).toBe('SUCCEEDED');
      // Temporal retried the authorization through the outage.
      expect((await attemptsOf(handle, 'step/authorizePayment')).lastAttempt).toBeGreaterThan(1);
      const rows = await dbs.rowsOf(handle.workflowId);
      expect(rows.charges).toEqual([expect.objectContaining({ status: 'captured', amount: SAMPLE_TOTAL })]);
    });
  });
});
