import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { msToNumber } from '@temporalio/common/lib/time';
import { paymentIdOf } from '../../activities/payments/activities';
import { SimulatedProvider } from '../../activities/payments/provider-store';
import { providerKeys } from '../../activities/payments/provider';
import { dropDatabaseIfExists, ensureDatabase } from '../../scripts/db/ensure-database';
import { circuitBreakerConfigSchema, loadConfig } from '../../shared/config';
import { requireEnv, TEST_ENV } from '../support/env';
import { attemptsOf, SAMPLE_TOTAL, sampleOrder, startSaga } from '../support/orders';
import { startWorkers, type TestProcesses } from '../support/processes';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';

const OUTAGE_MS = 60_000;
/** The shipped defaults: the payments worker below runs with them (nothing set in its environment). */
const BREAKER = loadConfig(circuitBreakerConfigSchema, {});
const HALF_OPEN_MS = msToNumber(BREAKER.CIRCUIT_BREAKER_HALF_OPEN_AFTER);

/**
 * The payment provider failing every call for a minute while sagas run and start, with the payments worker
 * a real process behind its circuit breaker (shipped defaults): the provider's own count of the calls it
 * refused stays bounded by the breaker's settings, far below the attempts Temporal made, the worker's
 * /metrics showed the breaker open, and every saga still completes with one charge (forward recovery).
 * The outage switch is provider-wide, so the file has a provider store of its own.
 */
describe('the payment provider down for 60 s behind the circuit breaker', () => {
  const own = new URL(requireEnv(TEST_ENV.providerDb));
  own.pathname = `${own.pathname}_breaker`;
  const providerUrl = own.toString();
  let provider: SimulatedProvider;
  let stack: Stack;
  let workers: TestProcesses;
  let metricsUrl: string;
  const dbs = openServiceDbs({ providerDatabaseUrl: providerUrl });

  beforeAll(async () => {
    await dropDatabaseIfExists(providerUrl);
    await ensureDatabase(providerUrl);
    provider = new SimulatedProvider(providerUrl, 2);
    stack = await startStack({ services: ['orders', 'shipments', 'inventory'] });
    workers = startWorkers(['payments'], {
      TEMPORAL_ADDRESS: requireEnv(TEST_ENV.temporalAddress),
      TASK_QUEUE_PREFIX: stack.prefix,
      PAYMENTS_DATABASE_URL: requireEnv(TEST_ENV.paymentsDb),
      PROVIDER_DATABASE_URL: providerUrl,
      LOG_LEVEL: 'info',
      METRICS_PORT: '0',
    });
    await workers.waitForWorkerStart('payments');
    const started = logLines().find((line) => line.msg === 'payments worker started');
    if (typeof started?.metrics !== 'string') throw new Error('the payments worker did not log its metrics');
    metricsUrl = started.metrics;
  }, 120_000);
  afterAll(async () => {
    await workers?.stop();
    await stack?.stop();
    await dbs.close();
    await provider?.close();
    await dropDatabaseIfExists(providerUrl);
  });

  function logLines(): Record<string, unknown>[] {
    return workers
      .output('payments')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The payments worker's own /metrics: the breaker's state and how many calls it refused. */
  async function scrape(): Promise<{ state: number; refused: number }> {
    const text = await (await fetch(metricsUrl)).text();
    const value = (name: string) => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && l.includes('dependency="payment-provider"'));
      if (!line) throw new Error(`${name} is not on the payments worker's /metrics`);
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    return {
      state: value('saga_circuit_breaker_state'),
      refused: value('saga_circuit_breaker_refused_total'),
    };
  }

  test('the provider gets a bounded number of calls, and every saga completes with one charge', async () => {
    // Before: a saga goes through and the breaker is closed.
    const first = await startSaga(stack);
    expect((await first.result()).status).toBe('COMPLETED');
    expect(await scrape()).toEqual({ state: 0, refused: 0 });

    const outageEnds = Date.now() + OUTAGE_MS;
    await provider.setOutage(new Date(outageEnds), 'breaker test outage');
    const states = new Set<number>();
    const watching = (async () => {
      while (Date.now() < outageEnds + 2 * HALF_OPEN_MS) {
        states.add((await scrape()).state);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    // Sagas in flight when the provider goes down, and sagas started while it is down.
    const before = await Promise.all(Array.from({ length: 8 }, () => startSaga(stack, sampleOrder())));
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
    const during = await Promise.all(Array.from({ length: 4 }, () => startSaga(stack, sampleOrder())));
    const handles = [...before, ...during];

    const outcomes = await Promise.all(handles.map((handle) => handle.result()));
    await watching;
    expect(outcomes.map((outcome) => outcome.status)).toEqual(handles.map(() => 'COMPLETED'));

    // Every saga once: an authorization and a capture, one captured charge at the provider, nothing
    // compensated.
    for (const handle of handles) {
      const rows = await dbs.rowsOf(handle.workflowId);
      expect(rows.order?.status).toBe('APPROVED');
      expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
      expect(rows.effects.payments).toEqual(['authorize:authorized', 'capture:captured']);
      expect(rows.charges).toEqual([expect.objectContaining({ status: 'captured', amount: SAMPLE_TOTAL })]);
    }

    // The provider's own count of the calls its outage refused: those sent while the breaker was still
    // closed (each saga's first, and a few retries before the threshold's worth of sagas had failed), and
    // one trial per half-open period.
    const outage = await provider.outage();
    const bound =
      handles.length + BREAKER.CIRCUIT_BREAKER_THRESHOLD + Math.ceil(OUTAGE_MS / HALF_OPEN_MS) + 1;
    expect(outage?.refusedCalls).toBeGreaterThan(0);
    expect(outage?.refusedCalls).toBeLessThanOrEqual(bound);

    // Temporal kept retrying the authorizations all along (forward recovery); the breaker refused most of
    // those attempts itself, so far fewer calls reached the provider than attempts were made.
    const attempts = await Promise.all(handles.map((h) => attemptsOf(h, 'step/authorizePayment')));
    const failedAttempts = attempts.reduce((sum, a) => sum + a.lastAttempt - 1, 0);
    expect(failedAttempts).toBeGreaterThan(3 * (outage?.refusedCalls ?? 0));
    // A refused call never reached the provider: after the outage, each authorization key was called once.
    for (const handle of handles) {
      const { orderId } = await dbs.rowsOf(handle.workflowId);
      const request = await provider.requestOf(providerKeys(paymentIdOf(orderId ?? '')).authorize);
      expect(request?.calls).toBe(1);
    }

    // What was measured, for the README (test-output/ is rewritten on every run).
    const outDir = path.resolve(__dirname, '../../test-output');
    mkdirSync(outDir, { recursive: true });
    const measured = {
      sagas: handles.length,
      outageMs: OUTAGE_MS,
      breaker: BREAKER,
      providerCallsDuringOutage: outage?.refusedCalls,
      bound,
      failedAuthorizeAttempts: failedAttempts,
      refusedByBreaker: (await scrape()).refused,
    };
    writeFileSync(path.join(outDir, 'circuit-breaker.json'), `${JSON.stringify(measured, null, 2)}\n`);

    // Its state on the worker's /metrics: open during the outage, closed again at the end.
    expect(states.has(1)).toBe(true);
    const after = await scrape();
    expect(after.state).toBe(0);
    expect(after.refused).toBeGreaterThan(0);
    // And a log line on each transition, ending closed.
    const transitions = logLines().filter((line) => String(line.msg).startsWith('circuit breaker '));
    expect(transitions[0]).toMatchObject({
      state: 'open',
      service: 'payments',
      dependency: 'payment-provider',
      lastFailure: expect.stringMatching(/breaker test outage/),
    });
    expect(transitions.at(-1)).toMatchObject({ state: 'closed' });
    expect(new Set(transitions.map((line) => line.state))).toEqual(new Set(['open', 'half_open', 'closed']));
  }, 300_000);
});
