import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { appConfigSchema, loadConfig, SERVICES, type AppConfig } from '../shared/config';
import { dataConverterFromEnv, generateCodecKey } from '../shared/encryption/config';
import { prepareDatabases } from '../scripts/db/prepare';
import { exampleOrder } from '../examples/order';
import { dropDatabaseIfExists } from '../scripts/db/ensure-database';
import { freePort } from '../scripts/lib/ports';
import { rssMiB, runTs, waitForHttp, type Supervised } from '../scripts/lib/processes';
import { waitForPollers } from '../scripts/lib/task-queue-pollers';
import { stopOnSignals, Teardown } from '../scripts/lib/teardown';
import { startNatsServer } from '../scripts/nats/nats-server';
import { startCeilingWorkers, type CeilingWorkers } from './ceiling';
import { startModeTemporal, type BenchMode } from './modes';

/** Stock for every saga a bench run can start (the demo catalogue would run out): the bench order's SKUs. */
export const BENCH_STOCK: Readonly<Record<string, number>> = Object.fromEntries(
  exampleOrder().items.map((item) => [item.sku, 1_000_000_000]),
);

export const BENCH_API_KEY = 'bench-key-0123456789abcdef';

/** What a stack process prints that the bench passes on: errors only (business failures of the compensation
 * path are logged as warnings by design), and no inspector chatter. */
function errorsOnly(line: string): void {
  if (/"level":(50|60)/.test(line) || !line.includes('"level"')) {
    if (!/^\[\w+\] (Debugger (listening|attached|ending)|For help, see|Waiting for the debugger)/.test(line))
      process.stderr.write(`${line}\n`);
  }
}

/** The server of the bench's databases (services', provider's and, in cluster mode, Temporal's). */
const POSTGRES = 'postgresql://postgres@127.0.0.1:5432';

export interface BenchStack {
  mode: BenchMode;
  /** What the report says about this stack's Temporal. */
  temporalSettings: Record<string, string>;
  config: AppConfig;
  /** With the saga's data converter (payload encryption), as the API and the workers use. */
  client: Client;
  /** No data converter: the ceiling runs with SDK defaults (no payload encryption). */
  plainClient: Client;
  /** The API, a process of its own as `npm start` runs it (not on the bench's event loop, which its readers load). */
  api: BenchApi;
  /** Another API process on this stack, with settings of its own (e.g. SAGA_COMPENSATION_MODE); stopped with it. */
  startApi(overrides: Record<string, string>): Promise<BenchApi>;
  workers: Supervised[];
  /** The no-op ceiling's worker process (bench/ceiling), on queues `<TASK_QUEUE_PREFIX>ceiling-*`. */
  ceiling: CeilingWorkers;
  /** The payment provider's store: its outage switch holds sagas running (the read-path bench). */
  providerDatabaseUrl: string;
  /** Resident memory of each worker process, in MiB, read from /proc. */
  workerRssMiB(): Record<string, number>;
  /** Each worker's inspector port, when started with `inspectWorkers` (bench/memory's heap snapshots). */
  workerInspectPorts: Record<string, number>;
  stop(): Promise<void>;
}

export interface BenchApi {
  url: string;
  process: Supervised;
}

export interface BenchStackOptions {
  mode: BenchMode;
  /** Every database of the run is named `<prefix><name>`; dropped before and after. */
  databasePrefix: string;
  log: (line: string) => void;
  overrides?: Record<string, string>;
  /** Each worker with its inspector on a free local port (`--inspect`), for heap snapshots. */
  inspectWorkers?: boolean;
}

/**
 * The real stack, started for the benchmark alone: its own Temporal (see modes.ts), fresh databases, the
 * four workers as separate processes and the API in this process. The saga and the baselines run on this
 * same stack. If any part fails to start, what did start is stopped before the error is passed on.
 */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `saga-bench-${options.mode}-`));
  const teardown = new Teardown();
  teardown.add(() => rmSync(dataDir, { recursive: true, force: true }));
  const stopAll = () => teardown.run();
  // Interrupted while starting or measuring: the server, workers, API and databases go with us.
  teardown.add(stopOnSignals(() => teardown.close(), options.log));
  try {
    const dbUrls = Object.fromEntries(
      [...SERVICES, 'provider', 'order_history'].map((s) => [
        `${s.toUpperCase()}_DATABASE_URL`,
        `${POSTGRES}/${options.databasePrefix}${s}`,
      ]),
    );
    const dropServiceDatabases = () => Promise.all(Object.values(dbUrls).map(dropDatabaseIfExists));
    const baseEnv: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...dbUrls,
      API_KEYS: BENCH_API_KEY,
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'warn',
      SAGA_CODEC_KEYS: process.env.SAGA_CODEC_KEYS ?? generateCodecKey('bench'),
      ...options.overrides,
    };
    const temporal = await startModeTemporal(options.mode, {
      dataDir,
      databasePrefix: options.databasePrefix,
      postgresUrl: `${POSTGRES}/postgres`,
      env: baseEnv,
      log: options.log,
    });
    teardown.add(() => temporal.stop());

    await dropServiceDatabases();
    teardown.add(dropServiceDatabases);
    // A broker of the benchmark's own for the workers' outbox relays, never the machine's shared one.
    const nats = await startNatsServer({ port: await freePort(), storeDir: path.join(dataDir, 'nats') });
    teardown.add(() => nats.stop());
    const env: Record<string, string> = {
      ...baseEnv,
      ...temporal.workerEnv,
      NATS_URL: nats.url,
      EVENTS_STREAM: 'BENCH_EVENTS',
      API_PORT: String(await freePort()),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_UI_URL: temporal.uiUrl,
    };
    const dataConverter = dataConverterFromEnv(env);
    const config = loadConfig(appConfigSchema, env);
    const databases = await prepareDatabases(config, { stock: BENCH_STOCK });
    teardown.add(() => databases.stop());
    const kinds = ['orchestrator', ...SERVICES];
    const workerInspectPorts: Record<string, number> = {};
    if (options.inspectWorkers) for (const kind of kinds) workerInspectPorts[kind] = await freePort();
    const workers = kinds.map((kind) => {
      const port = workerInspectPorts[kind];
      const nodeOptions = [env.NODE_OPTIONS, port === undefined ? '' : `--inspect=127.0.0.1:${port}`];
      const workerEnv = { ...env, NODE_OPTIONS: nodeOptions.join(' ').trim() };
      return runTs(kind, 'worker/main.ts', [kind], workerEnv, errorsOnly);
    });
    teardown.add(() => Promise.all(workers.map((w) => w.stop())));
    const connection = await Connection.connect({ address: temporal.address });
    teardown.add(() => connection.close());
    const client = new Client({ connection, dataConverter });
    const plainClient = new Client({ connection });
    const ceiling = await startCeilingWorkers({
      address: temporal.address,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueuePrefix: config.TASK_QUEUE_PREFIX,
    });
    teardown.add(() => ceiling.stop());
    await waitForPollers(client.workflowService, config.TEMPORAL_NAMESPACE, [
      { name: `${config.TASK_QUEUE_PREFIX}orchestrator`, type: 'workflow' },
      ...SERVICES.map((s) => ({ name: `${config.TASK_QUEUE_PREFIX}${s}`, type: 'activity' as const })),
    ]);
    const startApi = async (overrides: Record<string, string>): Promise<BenchApi> => {
      const port = overrides.API_PORT ?? String(await freePort());
      const apiProcess = runTs(
        'api',
        'api/main.ts',
        [],
        { ...env, ...overrides, API_PORT: port },
        errorsOnly,
      );
      teardown.add(() => apiProcess.stop());
      const url = `http://${config.API_HOST}:${port}`;
      await waitForHttp(`${url}/health/ready`, apiProcess);
      return { url, process: apiProcess };
    };
    const api = await startApi({ API_PORT: String(config.API_PORT) });
    return {
      mode: options.mode,
      temporalSettings: temporal.settings,
      config,
      client,
      plainClient,
      api,
      startApi,
      workers,
      ceiling,
      providerDatabaseUrl: dbUrls.PROVIDER_DATABASE_URL as string,
      workerInspectPorts,
      workerRssMiB: () => Object.fromEntries(workers.map((w) => [w.name, rssMiB(w.child.pid ?? -1)])),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
