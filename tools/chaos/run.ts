import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createOrdersDb } from '../../activities/orders/db';
import { createPaymentsDb } from '../../activities/payments/db';
import { createShipmentsDb } from '../../activities/shipments/db';
import { createInventoryDb } from '../../activities/inventory/db';
import { createSagaClient, type SagaClient } from '../../api/client';
import { startApiServer } from '../../api/server';
import { dropDatabaseIfExists } from '../../scripts/db/ensure-database';
import { prepareDatabases } from '../../scripts/db/prepare';
import { freePort } from '../../scripts/lib/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal/dev-server';
import { waitForPollers } from '../../scripts/lib/task-queue-pollers';
import { Teardown } from '../../scripts/lib/teardown';
import { freeClusterPorts, startCluster, type TemporalCluster } from '../../scripts/temporal/cluster';
import { clusterNodes, type ClusterPorts } from '../../scripts/temporal/cluster-config';
import {
  DATABASE_URL_VARS,
  appConfigSchema,
  loadConfig,
  SERVICES,
  type ServiceName,
} from '../../shared/config';
import { dataConverterFromEnv, generateCodecKey } from '../../shared/encryption/config';
import type { OrderRequest } from '../../shared/order';
import { FINAL_SAGA_STATUSES, type SagaStatus } from '../../shared/saga-state';
import { sagaStatusKey } from '../../shared/search-attributes';
import { temporalConnectionOptions } from '../../shared/temporal-connection';
import { checkInvariants } from '../invariants/check';
import type { Violation } from '../invariants/rules';
import { Supervisor, workerSpec } from '../../scripts/lib/supervisor';
import { startNatsServer } from '../../scripts/nats/nats-server';
import { setProviderOutage } from '../../activities/payments/provider-store';
import type { Finding } from '../invariants/would-complete';
import {
  CALM_AFTER_LONG_MS,
  drawClusterFault,
  drawFault,
  faultName,
  isLong,
  SCRIPTED_CLUSTER_FAULTS,
  SCRIPTED_CLUSTER_WINDOW_MS,
  SCRIPTED_FAULTS,
  SCRIPTED_WINDOW_MS,
  WORKER_KINDS,
  type Fault,
} from './faults';
import { comparePublished, type OutboxRowRef, type PublishedEventsReport } from './published-events';
import { readPublishedEvents } from '../invariants/stream-facts';
import { connectEventBus, eventBusConfigSchema } from '../../shared/event-bus';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';
import { CHAOS_STOCK, chaosOrder, seeded } from './workload';

export interface ChaosOptions {
  sagas: number;
  concurrency: number;
  /** Faults drawn per second on average while sagas are driven (long ones are skipped while one is on). */
  faultRate: number;
  /** Instead of random faults: SCRIPTED_FAULTS, one of each kind, with the sagas paced across them. */
  scripted: boolean;
  /** Sagas started per second (random mode; the scripted mode spreads them over its fault window). */
  ratePerSecond?: number;
  /** Prefix of the run's database names (default CHAOS_DATABASE_PREFIX, else saga_chaos_). */
  databasePrefix?: string;
  seed: number;
  /**
   * `dev` (default): the CLI's dev server, restarted whole. `cluster`: the production-shaped cluster
   * (scripts/temporal/cluster.ts) on PostgreSQL through a proxy of the run's own, with the cluster faults.
   */
  temporalMode?: 'dev' | 'cluster';
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
  /** Sagas that went backwards although their input would have completed and the run did not cancel them. */
  compensatedWouldHaveCompleted: Finding[];
  /** Sagas that went backwards for which the checker cannot tell (not counted either way). */
  undetermined: Finding[];
  faults: Record<string, number>;
  /** Each fault with when it began (s from the start of the run) and how long it lasted (s). */
  faultLog: { at: number; fault: string; seconds: number }[];
  /** Faults that could not be carried out (e.g. a restarted process that did not listen again in time). */
  faultErrors: string[];
  /** The outbox relays (in the killed and restarted workers): every outbox row on the stream once, in order. */
  events: PublishedEventsReport;
  workerRestarts: number;
  durationSeconds: number;
}

const API_KEY = 'chaos-key-0123456789abcdef';
const DEFAULT_DATABASE_PREFIX = 'saga_chaos_';
const DEFAULT_RATE_PER_SECOND = 2;
const CHAOS_STREAM = 'CHAOS_EVENTS';
/** After quiescence, how long the relays get to publish what the outboxes still hold. */
const PUBLISH_TIMEOUT_MS = 120_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Drives sagas through the API while killing workers, holding one down, restarting the Temporal server
 * on its persistent database, stopping the broker and cutting each service's database off through a
 * proxy of its own; then waits for quiescence, checks the invariants and the events on the broker. The saga engine runs with the shipped defaults.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const teardown = new Teardown((line) => options.log(`teardown: ${line}`));
  try {
    return await runWith(options, teardown);
  } finally {
    // Also when the run throws: no Temporal process, worker, proxy or database client outlives it.
    await teardown.run();
  }
}

async function runWith(options: ChaosOptions, teardown: Teardown): Promise<ChaosReport> {
  const began = Date.now();
  const random = seeded(options.seed);
  const mode = options.temporalMode ?? 'dev';
  const dataDir = mkdtempSync(path.join(tmpdir(), 'saga-chaos-'));
  teardown.add(() => rmSync(dataDir, { recursive: true, force: true }));
  const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
  const serverOptions = {
    port: ports.temporal,
    uiPort: ports.ui,
    dbFile: path.join(dataDir, 'temporal.sqlite'),
    logFile: path.join(dataDir, 'temporal.log'),
  };
  const prefix = options.databasePrefix ?? process.env.CHAOS_DATABASE_PREFIX ?? DEFAULT_DATABASE_PREFIX;
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`database prefix ${prefix} is not a plain name`);

  // Cluster mode: Temporal's processes reach PostgreSQL through a proxy of the run's own (never the
  // shared server itself is stopped), on databases `<prefix>temporal{,_visibility}` created fresh.
  let server: DevServer | undefined;
  let cluster: TemporalCluster | undefined;
  let clusterPorts: ClusterPorts | undefined;
  let temporalDbProxy: TcpProxy | undefined;
  if (mode === 'cluster') {
    temporalDbProxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    const proxy = temporalDbProxy;
    teardown.add(() => proxy.close());
    clusterPorts = await freeClusterPorts();
    cluster = await startCluster({
      ports: clusterPorts,
      postgresUrl: `postgresql://postgres@127.0.0.1:${temporalDbProxy.port}/postgres`,
      databasePrefix: prefix,
      dataDir,
      fresh: true,
      // The run kills these processes on purpose: restart them quickly, never give up.
      restartPolicy: { initialDelayMs: 1000, maxDelayMs: 5000, maxCrashes: Number.POSITIVE_INFINITY },
      log: (line) => {
        if (!/exited \(signal SIGKILL\)/.test(line)) options.log(`cluster: ${line}`);
      },
    });
    const started = cluster;
    teardown.add(() => started.stop());
  } else {
    server = await startDevServer(serverOptions);
    // The variable, not this instance: a Temporal restart fault replaces the server.
    teardown.add(() => server?.stop());
  }
  const temporalAddress = (cluster ?? server)!.address;

  const dbUrls = Object.fromEntries(
    SERVICES.map((s) => [s, `postgresql://postgres@127.0.0.1:5432/${prefix}${s}`]),
  ) as Record<ServiceName, string>;
  const providerUrl = `postgresql://postgres@127.0.0.1:5432/${prefix}provider`;
  const orderHistoryUrl = `postgresql://postgres@127.0.0.1:5432/${prefix}order_history`;
  await Promise.all([...Object.values(dbUrls), providerUrl, orderHistoryUrl].map(dropDatabaseIfExists));
  // The shipped saga settings: no SAGA_* retry or timeout setting is inherited or overridden. Chaos runs
  // its own dev server (plaintext): TLS settings meant for another Temporal are not inherited either.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        (!k.startsWith('SAGA_') || k.startsWith('SAGA_CODEC_')) &&
        !k.startsWith('TEMPORAL_TLS') &&
        k !== 'TEMPORAL_API_KEY',
    ),
  ) as Record<string, string>;
  // A broker of the run's own (the workers' outbox relays publish to it), never the machine's shared one.
  const natsOptions = { port: await freePort(), storeDir: path.join(dataDir, 'nats') };
  let nats = await startNatsServer(natsOptions);
  // The variable, not this instance: a broker outage fault replaces the server.
  teardown.add(() => nats.stop());
  const env = {
    ...inherited,
    NATS_URL: nats.url,
    EVENTS_STREAM: CHAOS_STREAM,
    TEMPORAL_ADDRESS: temporalAddress,
    ...Object.fromEntries(SERVICES.map((s) => [DATABASE_URL_VARS[s], dbUrls[s]])),
    PROVIDER_DATABASE_URL: providerUrl,
    ORDER_HISTORY_DATABASE_URL: orderHistoryUrl,
    API_KEYS: API_KEY,
    API_PORT: String(ports.api),
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    TASK_QUEUE_PREFIX: `chaos-${randomUUID().slice(0, 6)}-`,
    LOG_LEVEL: 'warn',
    SAGA_CODEC_KEYS: process.env.SAGA_CODEC_KEYS ?? generateCodecKey('chaos'),
  };
  const config = loadConfig(appConfigSchema, env);
  const dataConverter = dataConverterFromEnv(env);
  const databases = await prepareDatabases(config, { stock: CHAOS_STOCK });
  teardown.add(() => databases.stop());
  // Each service worker reaches its database through a proxy of its own, which the run can cut.
  const proxies = {} as Record<ServiceName, TcpProxy>;
  const proxiedEnv: Record<string, string> = {};
  for (const service of SERVICES) {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    proxies[service] = proxy;
    teardown.add(() => proxy.close());
    const proxied = new URL(dbUrls[service]);
    proxied.port = String(proxies[service].port);
    proxiedEnv[DATABASE_URL_VARS[service]] = proxied.toString();
  }
  const workerEnv = { ...env, ...proxiedEnv };
  // npm start's supervisor; killing workers is the point here: restart them quickly, never give up.
  const workers = new Supervisor(
    WORKER_KINDS.map((kind) => workerSpec(kind, workerEnv)),
    {
      policy: { initialDelayMs: 1000, maxDelayMs: 5000, maxCrashes: Number.POSITIVE_INFINITY },
      log: () => undefined,
      output: (line) => {
        if (/"level":(50|60)|failed:/.test(line)) process.stderr.write(`${line}\n`);
      },
    },
  );
  workers.start();
  teardown.add(() => workers.stop());
  const api = await startApiServer(config, pino({ level: 'silent' }), { dataConverter });
  teardown.add(() => api.close());
  const sagaApi = createSagaClient({ baseUrl: api.url, token: API_KEY });
  const connection = await Connection.connect(temporalConnectionOptions(config));
  teardown.add(() => connection.close());
  const client = new Client({ connection, dataConverter });
  // Faults start once every worker polls: a service worker still starting when its database goes away
  // would crash-loop on its start-up probe, and the outage would test nothing.
  await waitForPollers(
    client.workflowService,
    client.options.namespace,
    WORKER_KINDS.map((kind) => ({
      name: `${config.TASK_QUEUE_PREFIX}${kind}`,
      type: kind === 'orchestrator' ? 'workflow' : 'activity',
    })),
  );

  /** Each Temporal process in turn: stopped, started, and listening again before the next one. */
  const rollingRestart = async () => {
    if (!cluster || !clusterPorts) return;
    // Back = listening again: every server node on its membership port, and the nodes that serve gRPC
    // (all but the internal worker service) on that too; the UI server on its HTTP port.
    const processes = [
      ...clusterNodes(clusterPorts).map((node) => ({
        name: node.name,
        ports: node.service === 'worker' ? [node.ports.membership] : [node.ports.membership, node.ports.grpc],
      })),
      { name: 'temporal-ui', ports: [clusterPorts.ui] },
    ];
    for (const { name, ports: listening } of processes) {
      const at = Date.now();
      await cluster.supervisor.restart(name);
      for (const port of listening) await waitForPort(port, 120_000);
      // Membership: the others learn of the node again and hand its shards or partitions back.
      await sleep(3000);
      options.log(`  ${name} restarted and back in ${seconds(Date.now() - at)} s`);
    }
  };

  const faults: Record<string, number> = {};
  const faultErrors: string[] = [];
  const faultLog: ChaosReport['faultLog'] = [];
  const seconds = (ms: number) => Math.round(ms / 100) / 10;
  const inject = async (fault: Fault) => {
    const name = faultName(fault);
    const at = Date.now();
    faults[name] = (faults[name] ?? 0) + 1;
    options.log(`fault ${name}${'ms' in fault ? ` for ${seconds(fault.ms)} s` : ''}`);
    try {
      await injectFault(fault);
    } catch (error) {
      // A fault that could not be carried out is reported, it does not end the run.
      faultErrors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      options.log(`fault ${name} failed: ${faultErrors.at(-1)}`);
    }
    faultLog.push({ at: seconds(at - began), fault: name, seconds: seconds(Date.now() - at) });
  };
  const injectFault = async (fault: Fault) => {
    switch (fault.kind) {
      case 'kill':
        workers.kill(fault.worker);
        break;
      case 'db-outage':
        await proxies[fault.service].outage(fault.ms);
        break;
      case 'hold-down':
        // Down for the whole time (hold resolves once it is stopped), then started again by the supervisor.
        await workers.hold(fault.worker, fault.ms);
        await sleep(fault.ms);
        break;
      case 'temporal-restart':
        if (cluster) {
          await rollingRestart();
          break;
        }
        await server?.stop();
        await sleep(fault.downMs);
        server = await startDevServer(serverOptions);
        break;
      case 'kill-node':
        cluster?.supervisor.kill(fault.node);
        break;
      case 'rolling-restart':
        await rollingRestart();
        break;
      case 'temporal-db-outage':
        await temporalDbProxy?.outage(fault.ms);
        break;
      case 'broker-outage':
        await nats.stop();
        await sleep(fault.ms);
        nats = await startNatsServer(natsOptions);
        break;
      case 'provider-outage':
        await setProviderOutage(providerUrl, new Date(Date.now() + fault.ms), 'chaos: provider outage');
        await sleep(fault.ms);
        break;
    }
  };

  let driving = true;
  const faultWindowStart = Date.now() + 1500;
  const faultLoop = (async () => {
    await sleep(faultWindowStart - Date.now());
    if (options.scripted) {
      const alongside: Promise<void>[] = [];
      for (const scripted of mode === 'cluster' ? SCRIPTED_CLUSTER_FAULTS : SCRIPTED_FAULTS) {
        await sleep(faultWindowStart + scripted.atMs - Date.now());
        if (scripted.alongside) alongside.push(inject(scripted.fault));
        else await inject(scripted.fault);
      }
      await Promise.all(alongside);
      return;
    }
    // Long faults one at a time, with calm in between, so the run also shows how the engine recovers.
    let long: Promise<void> | undefined;
    let calmUntil = 0;
    // Cluster mode: the first long fault is a rolling restart, so every run has one.
    let rolled = false;
    while (driving) {
      await sleep(1000);
      if (!driving || random() >= options.faultRate) continue;
      let fault = mode === 'cluster' ? drawClusterFault(random) : drawFault(random);
      if (mode === 'cluster' && isLong(fault) && !rolled && !long && Date.now() >= calmUntil) {
        fault = { kind: 'rolling-restart' };
        rolled = true;
      }
      if (!isLong(fault)) await inject(fault);
      else if (!long && Date.now() >= calmUntil) {
        long = inject(fault).finally(() => {
          long = undefined;
          calmUntil = Date.now() + CALM_AFTER_LONG_MS;
        });
      }
    }
    await long;
  })();

  // Sagas are paced so that they are in flight while the faults happen.
  const intervalMs = options.scripted
    ? (mode === 'cluster' ? SCRIPTED_CLUSTER_WINDOW_MS : SCRIPTED_WINDOW_MS) / options.sagas
    : 1000 / (options.ratePerSecond ?? DEFAULT_RATE_PER_SECOND);
  const accepted: string[] = [];
  let cancelled = 0;
  let next = 0;
  const lane = async () => {
    while (next < options.sagas) {
      const i = next++;
      await sleep(faultWindowStart + i * intervalMs - Date.now());
      const { order, cancel } = chaosOrder(i, random, { timeouts: !options.scripted });
      const sagaId = await startWithRetries(sagaApi, order, `chaos-${options.seed}-${i}-${randomUUID()}`);
      accepted.push(sagaId);
      if (cancel) {
        await sleep(200);
        const res = await sagaApi
          .POST('/sagas/{sagaId}/cancel', { params: { path: { sagaId } } })
          .catch(() => undefined);
        if (res?.response.status === 202) cancelled += 1;
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
    inventory: createInventoryDb(config.INVENTORY_DATABASE_URL, 2),
  };
  teardown.add(() => Promise.all(SERVICES.map((service) => sources[service].$disconnect())));
  const narrow = `TaskQueue = '${config.TASK_QUEUE_PREFIX}orchestrator'`;
  let report = await checkInvariants(sources, { narrow, staleAfterMs: 0 });
  for (let i = 0; i < 30 && report.sagasChecked < accepted.length; i++) {
    await sleep(500); // visibility catches up asynchronously
    report = await checkInvariants(sources, { narrow, staleAfterMs: 0 });
  }
  const seen = new Set<string>();
  for await (const info of client.workflow.list({ query: narrow })) seen.add(info.workflowId);
  const lostSagas = [...new Set([...pending, ...accepted.filter((id) => !seen.has(id))])];

  const events = await publishedEvents(sources, { NATS_URL: nats.url, EVENTS_STREAM: CHAOS_STREAM });

  await teardown.run();

  const { log: _log, ...reportedOptions } = options;
  return {
    options: { ...reportedOptions, temporalMode: mode },
    started: accepted.length,
    byStatus: report.byStatus,
    completed: report.byStatus.COMPLETED ?? 0,
    compensated: report.byStatus.COMPENSATED ?? 0,
    parked: report.byStatus.COMPENSATION_FAILED ?? 0,
    lost: lostSagas.length,
    lostSagas,
    cancelled,
    violations: report.violations,
    compensatedWouldHaveCompleted: report.compensatedWouldHaveCompleted,
    undetermined: report.undetermined,
    faults,
    faultLog,
    faultErrors,
    events,
    workerRestarts: workers.restarts,
    durationSeconds: Math.round((Date.now() - began) / 1000),
  };
}

type OutboxSource = {
  outboxEvent: {
    findMany(args: {
      select: Record<
        'id' | 'type' | 'sagaId' | 'aggregateType' | 'aggregateId' | 'sequence' | 'publishedAt',
        true
      >;
    }): Promise<OutboxRowRef[]>;
  };
};

/** Waits (up to PUBLISH_TIMEOUT_MS) for the relays to publish every outbox row, then compares the stream. */
async function publishedEvents(
  dbs: Record<ServiceName, OutboxSource>,
  bus: { NATS_URL: string; EVENTS_STREAM: string },
): Promise<PublishedEventsReport> {
  const select = {
    id: true,
    type: true,
    sagaId: true,
    aggregateType: true,
    aggregateId: true,
    sequence: true,
    publishedAt: true,
  } as const;
  const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
  for (;;) {
    const rows = (await Promise.all(SERVICES.map((s) => dbs[s].outboxEvent.findMany({ select })))).flat();
    if (rows.every((row) => row.publishedAt) || Date.now() > deadline) {
      const config = eventBusConfigSchema.parse(bus);
      const nc = await connectEventBus(config, 'chaos-check');
      try {
        return comparePublished(rows, await readPublishedEvents(nc, config));
      } finally {
        await nc.close();
      }
    }
    await sleep(500);
  }
}

/** Resolves once something accepts connections on the port (a restarted Temporal process). */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/**
 * The API may be unable to reach Temporal for a while (a restart, an outage of Temporal's database of up
 * to 2 minutes): retry with the same Idempotency-Key, for up to 5 minutes.
 */
async function startWithRetries(
  api: SagaClient,
  order: OrderRequest,
  idempotencyKey: string,
): Promise<string> {
  const deadline = Date.now() + 300_000;
  for (let attempt = 1; ; attempt++) {
    try {
      const { data, error, response } = await api.POST('/sagas', {
        params: { header: { 'idempotency-key': idempotencyKey } },
        body: order,
      });
      if (data) return data.sagaId;
      if (response.status < 500)
        throw new Error(`API refused a chaos order: ${response.status} ${JSON.stringify(error)}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('API refused')) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`the API did not accept a saga in 5 minutes (${attempt} attempts)`);
    await sleep(500);
  }
}
