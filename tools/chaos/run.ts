import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createOrdersDb } from '../../activities/orders/db';
import { createPaymentsDb } from '../../activities/payments/db';
import { createShipmentsDb } from '../../activities/shipments/db';
import { startApiServer } from '../../api/server';
import { dropDatabaseIfExists } from '../../scripts/db/ensure-database';
import { prepareDatabases } from '../../scripts/db/prepare';
import { freePort } from '../../scripts/lib/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal/dev-server';
import { appConfigSchema, loadConfig, SERVICES } from '../../shared/config';
import { dataConverterFromEnv, generateCodecKey } from '../../shared/encryption/config';
import { FINAL_SAGA_STATUSES, type SagaStatus } from '../../shared/saga-state';
import { sagaStatusKey } from '../../shared/search-attributes';
import { checkInvariants } from '../invariants/check';
import type { Violation } from '../invariants/rules';
import { Supervisor, workerSpec } from '../../scripts/lib/supervisor';
import { startTcpProxy } from './tcp-proxy';
import { chaosOrder, seeded } from './workload';

export interface ChaosOptions {
  sagas: number;
  concurrency: number;
  /** Faults injected per second on average while sagas are driven. */
  faultRate: number;
  /** Instead of random faults: kill each worker once, restart the server once, one database outage. */
  scripted: boolean;
  seed: number;
  quiescenceTimeoutMs: number;
  log: (line: string) => void;
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'log'>;
  started: number;
  byStatus: Record<string, number>;
  completed: number;
  compensated: number;
  parked: number;
  lost: number;
  lostSagas: string[];
  cancelled: number;
  violations: Violation[];
  faults: Record<string, number>;
  workerRestarts: number;
  durationSeconds: number;
}

const API_KEY = 'chaos-key-0123456789abcdef';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drives sagas through the API while killing workers, restarting the Temporal server on its persistent
 * database and cutting one service's database off; then waits for quiescence and checks the invariants.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const began = Date.now();
  const random = seeded(options.seed);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'saga-chaos-'));
  const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
  const serverOptions = {
    port: ports.temporal,
    uiPort: ports.ui,
    dbFile: path.join(dataDir, 'temporal.sqlite'),
    logFile: path.join(dataDir, 'temporal.log'),
  };
  let server: DevServer = await startDevServer(serverOptions);

  const dbUrls = Object.fromEntries(
    SERVICES.map((s) => [s, `postgresql://postgres@127.0.0.1:5432/saga_chaos_${s}`]),
  ) as Record<string, string>;
  await Promise.all(Object.values(dbUrls).map(dropDatabaseIfExists));
  const env = {
    ...(process.env as Record<string, string>),
    TEMPORAL_ADDRESS: server.address,
    ORDERS_DATABASE_URL: dbUrls.orders as string,
    PAYMENTS_DATABASE_URL: dbUrls.payments as string,
    SHIPMENTS_DATABASE_URL: dbUrls.shipments as string,
    API_KEYS: API_KEY,
    API_PORT: String(ports.api),
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    TASK_QUEUE_PREFIX: `chaos-${randomUUID().slice(0, 6)}-`,
    SAGA_STEP_TIMEOUT: '3s',
    SAGA_STEP_MAX_ATTEMPTS: '8',
    SAGA_RETRY_INITIAL_INTERVAL: '200ms',
    SAGA_RETRY_MAX_INTERVAL: '2s',
    SAGA_COMPENSATION_MAX_ATTEMPTS: '100',
    LOG_LEVEL: 'warn',
    SAGA_CODEC_KEYS: process.env.SAGA_CODEC_KEYS ?? generateCodecKey('chaos'),
  };
  const config = loadConfig(appConfigSchema, env);
  const dataConverter = dataConverterFromEnv(env);
  const databases = await prepareDatabases(config);
  // The shipments worker reaches its database through a proxy the run can cut.
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
  const proxied = new URL(dbUrls.shipments as string);
  proxied.port = String(proxy.port);
  const workerEnv = { ...env, SHIPMENTS_DATABASE_URL: proxied.toString() };
  const workers = new Supervisor(
    ['orchestrator', ...SERVICES].map((kind) => workerSpec(kind, workerEnv)),
    // Killing workers is the point here: restart them quickly, never give up.
    {
      policy: { initialDelayMs: 1000, maxDelayMs: 5000, maxCrashes: Number.POSITIVE_INFINITY },
      log: () => undefined,
      output: (line) => {
        if (/"level":(50|60)|failed:/.test(line)) process.stderr.write(`${line}\n`);
      },
    },
  );
  workers.start();
  const api = await startApiServer(config, pino({ level: 'silent' }), { dataConverter });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, dataConverter });

  const faults: Record<string, number> = {};
  const count = (kind: string) => (faults[kind] = (faults[kind] ?? 0) + 1);
  const restartServer = async () => {
    count('temporal-restart');
    await server.stop();
    await sleep(1000);
    server = await startDevServer(serverOptions);
  };
  const injectOne = async () => {
    const roll = random();
    if (roll < 0.6) {
      const kind = ['orchestrator', ...SERVICES][Math.floor(random() * 4)] as string;
      count(`kill-${kind}`);
      workers.kill(kind);
    } else if (roll < 0.85) {
      count('db-outage-shipments');
      await proxy.outage(2000 + random() * 3000);
    } else {
      await restartServer();
    }
  };

  let driving = true;
  const faultLoop = (async () => {
    await sleep(1500);
    if (options.scripted) {
      for (const kind of ['orchestrator', ...SERVICES]) {
        count(`kill-${kind}`);
        workers.kill(kind);
        await sleep(2000);
      }
      count('db-outage-shipments');
      await proxy.outage(3000);
      await restartServer();
      return;
    }
    while (driving) {
      await sleep(1000);
      if (driving && random() < options.faultRate) await injectOne();
    }
  })();

  const accepted: string[] = [];
  let cancelled = 0;
  let next = 0;
  const lane = async () => {
    while (next < options.sagas) {
      const i = next++;
      const { order, cancel } = chaosOrder(i, random);
      const sagaId = await startWithRetries(api.url, order, `chaos-${options.seed}-${i}-${randomUUID()}`);
      accepted.push(sagaId);
      if (cancel) {
        await sleep(200);
        const res = await fetch(`${api.url}/sagas/${sagaId}/cancel`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}` },
        }).catch(() => undefined);
        if (res?.status === 202) cancelled += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  driving = false;
  await faultLoop;
  options.log(`${accepted.length} sagas accepted; waiting for quiescence...`);

  const statusOf = async (sagaId: string): Promise<{ status?: SagaStatus; temporal: string }> => {
    const description = await client.workflow.getHandle(sagaId).describe();
    return {
      status: description.typedSearchAttributes.get(sagaStatusKey) as SagaStatus | undefined,
      temporal: description.status.name,
    };
  };
  const settled = (s: { status?: SagaStatus; temporal: string }) =>
    s.temporal !== 'RUNNING' ||
    s.status === 'COMPENSATION_FAILED' ||
    FINAL_SAGA_STATUSES.includes(s.status as SagaStatus);
  // Quiescence from visibility (cheap), then one final look at every accepted saga, a batch at a time.
  const unsettled = `TaskQueue = '${config.TASK_QUEUE_PREFIX}orchestrator' AND ExecutionStatus = 'Running' AND SagaStatus != 'COMPENSATION_FAILED'`;
  const deadline = Date.now() + options.quiescenceTimeoutMs;
  while (
    Date.now() < deadline &&
    (await client.workflow.count(unsettled).catch(() => ({ count: 1 }))).count > 0
  ) {
    await sleep(1000);
  }
  await sleep(1000); // visibility lags the workflows a little
  const pending: string[] = [];
  for (let i = 0; i < accepted.length; i += 50) {
    const batch = accepted.slice(i, i + 50);
    const states = await Promise.all(
      batch.map(async (id) => ({ id, s: await statusOf(id).catch(() => undefined) })),
    );
    pending.push(...states.filter(({ s }) => !s || !settled(s)).map(({ id }) => id));
  }

  const sources = {
    client,
    orders: createOrdersDb(config.ORDERS_DATABASE_URL, 2),
    payments: createPaymentsDb(config.PAYMENTS_DATABASE_URL, 2),
    shipments: createShipmentsDb(config.SHIPMENTS_DATABASE_URL, 2),
  };
  const narrow = `TaskQueue = '${config.TASK_QUEUE_PREFIX}orchestrator'`;
  let report = await checkInvariants(sources, { narrow, staleAfterMs: 0 });
  for (let i = 0; i < 30 && report.sagasChecked < accepted.length; i++) {
    await sleep(500); // visibility catches up asynchronously
    report = await checkInvariants(sources, { narrow, staleAfterMs: 0 });
  }
  const seen = new Set<string>();
  for await (const info of client.workflow.list({ query: narrow })) seen.add(info.workflowId);
  const lostSagas = [...new Set([...pending, ...accepted.filter((id) => !seen.has(id))])];

  await Promise.all([
    sources.orders.$disconnect(),
    sources.payments.$disconnect(),
    sources.shipments.$disconnect(),
  ]);
  await api.close();
  await workers.stop();
  await connection.close();
  await proxy.close();
  await server.stop();
  await databases.stop();
  rmSync(dataDir, { recursive: true, force: true });

  const { log: _log, ...reportedOptions } = options;
  return {
    options: reportedOptions,
    started: accepted.length,
    byStatus: report.byStatus,
    completed: report.byStatus.COMPLETED ?? 0,
    compensated: report.byStatus.COMPENSATED ?? 0,
    parked: report.byStatus.COMPENSATION_FAILED ?? 0,
    lost: lostSagas.length,
    lostSagas,
    cancelled,
    violations: report.violations,
    faults,
    workerRestarts: workers.restarts,
    durationSeconds: Math.round((Date.now() - began) / 1000),
  };
}

/** The API may be briefly unable to reach Temporal (restarts): retry with the same Idempotency-Key. */
async function startWithRetries(apiUrl: string, order: unknown, idempotencyKey: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${apiUrl}/sagas`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${API_KEY}`,
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify(order),
      });
      if (res.status === 202 || res.status === 200) return ((await res.json()) as { sagaId: string }).sagaId;
      if (res.status < 500) throw new Error(`API refused a chaos order: ${res.status} ${await res.text()}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('API refused')) throw error;
    }
    if (attempt >= 60) throw new Error('the API did not accept a saga within 60 attempts');
    await sleep(500);
  }
}
