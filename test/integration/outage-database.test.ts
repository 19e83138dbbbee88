import { startTcpProxy, type TcpProxy } from '../../tools/chaos/tcp-proxy';
import { attemptsOf, SAMPLE_TOTAL, sampleOrder, startSaga } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { startStack, type Stack } from '../support/stack';
import { requireEnv, TEST_ENV } from '../support/env';

const OUTAGE_MS = 60_000;

/**
 * Forward recovery, with the shipped defaults: the payments database is unreachable for a minute while
 * sagas run and start. Every one of them is a valid order, so every one must complete, each effect once.
 */
describe('a 60 s outage of the payments database', () => {
  let stack: Stack;
  let proxy: TcpProxy;
  const dbs = openServiceDbs();

  beforeAll(async () => {
    const direct = new URL(requireEnv(TEST_ENV.paymentsDb));
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(direct);
    proxied.port = String(proxy.port);
    stack = await startStack({ databaseUrls: { payments: proxied.toString() } });
  });
  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
    await dbs.close();
  });

  test('delays the sagas in flight and those started during it; none is compensated', async () => {
    const before = await Promise.all(Array.from({ length: 8 }, () => startSaga(stack)));
    const outage = proxy.outage(OUTAGE_MS);
    const during = await Promise.all(Array.from({ length: 8 }, () => startSaga(stack, sampleOrder())));
    await outage;
    const handles = [...before, ...during];
    const outcomes = await Promise.all(handles.map((h) => h.result()));
    expect(outcomes.map((o) => o.status)).toEqual(handles.map(() => 'COMPLETED'));

    for (const handle of handles) {
      const rows = await dbs.rowsOf(handle.workflowId);
      expect(rows.order?.status).toBe('APPROVED');
      expect(rows.payment).toMatchObject({ status: 'CAPTURED', amount: SAMPLE_TOTAL });
      expect(rows.shipment?.status).toBe('SCHEDULED');
      expect(rows.effects.payments).toEqual(['authorize:authorized', 'capture:captured']);
    }
    // The outage really hit: the payment steps of the sagas started during it needed several attempts.
    const attempts = await Promise.all(during.map((h) => attemptsOf(h, 'step/authorizePayment')));
    expect(Math.min(...attempts.map((a) => a.lastAttempt))).toBeGreaterThan(1);
  }, 300_000);
});
