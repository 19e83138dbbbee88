/**
 * The Temporal servers the benchmark compares, each started by the project's own functions so the bench
 * measures what runs, not a copy of it that could drift:
 * - dev-memory: the CLI's dev server with its SQLite in memory (Temporal's best case on this machine);
 * - dev-file: the dev server exactly as `npm start` runs it (scripts/temporal/local-server.ts, file store
 *   and whatever pragmas and dynamic config it sets), with the spans collected as `npm start` collects them
 *   (scripts/lib/local-traces.ts);
 * - dev-file-untraced: the same with tracing off (OTEL_TRACES_EXPORTER=none, as a user may run it), so the
 *   report splits dev-file's distance from dev-memory into the file store's part and the traces' part;
 * - cluster: the real server on PostgreSQL (scripts/temporal/cluster.ts: frontend, 2 history, 2 matching),
 *   on fresh databases of the bench's own.
 */
import path from 'node:path';
import { dropDatabaseIfExists } from '../scripts/db/ensure-database';
import { startLocalTraces } from '../scripts/lib/local-traces';
import { localStackConfigSchema } from '../scripts/lib/local-stack-config';
import { freePort } from '../scripts/lib/ports';
import { freeClusterPorts, startCluster } from '../scripts/temporal/cluster';
import { temporalDatabases } from '../scripts/temporal/cluster-config';
import { startDevServer } from '../scripts/temporal/dev-server';
import { startLocalTemporal } from '../scripts/temporal/local-server';
import { loadConfig } from '../shared/config';

export const BENCH_MODES = ['dev-memory', 'dev-file', 'dev-file-untraced', 'cluster'] as const;
export type BenchMode = (typeof BENCH_MODES)[number];

export const MODE_LABELS: Record<BenchMode, string> = {
  'dev-memory': 'dev server, SQLite in memory',
  'dev-file': 'dev server as `npm start` runs it (SQLite file, traces on)',
  'dev-file-untraced': 'dev server as `npm start` runs it, tracing off (OTEL_TRACES_EXPORTER=none)',
  cluster: 'real server on PostgreSQL (frontend, 2 history, 2 matching)',
};

export interface ModeTemporal {
  address: string;
  uiUrl: string;
  /** Environment the workers get on top of the bench's own (the spans' destination, in dev-file). */
  workerEnv: Record<string, string>;
  /** What the report says about this mode's configuration. */
  settings: Record<string, string>;
  stop(): Promise<void>;
}

export interface ModeOptions {
  /** Configs, logs and the dev server's file go here. */
  dataDir: string;
  /** The cluster's databases are `<prefix>temporal{,_visibility}`, dropped before and after. */
  databasePrefix: string;
  postgresUrl: string;
  /** The bench's environment (what `npm start` would read). */
  env: Record<string, string>;
  log: (line: string) => void;
}

export async function startModeTemporal(mode: BenchMode, options: ModeOptions): Promise<ModeTemporal> {
  if (mode === 'dev-memory') {
    const server = await startDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      logFile: path.join(options.dataDir, 'temporal.log'),
    });
    return { ...server, workerEnv: {}, settings: { store: 'sqlite in memory', traces: 'off' } };
  }
  if (mode === 'dev-file' || mode === 'dev-file-untraced') {
    // Everything from localStackConfigSchema as `npm start` reads it; only ports and files are the bench's.
    // Spans are collected when no exporter is chosen, as `npm start` does: an inherited one is dropped.
    const { OTEL_TRACES_EXPORTER: _e, OTEL_EXPORTER_OTLP_ENDPOINT: _u, ...env } = options.env;
    const config = loadConfig(localStackConfigSchema, {
      ...env,
      TEMPORAL_MODE: 'dev',
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      TEMPORAL_UI_PORT: String(await freePort()),
      TEMPORAL_DATA_DIR: path.join(options.dataDir, 'temporal'),
      OTLP_RECEIVER_PORT: String(await freePort()),
      TRACES_FILE: path.join(options.dataDir, 'traces', 'spans.jsonl'),
    });
    const server = await startLocalTemporal(config, { log: options.log });
    const traced = mode === 'dev-file';
    const untraced = { env: { OTEL_TRACES_EXPORTER: 'none' }, stop: async () => undefined };
    const traces = traced
      ? await startLocalTraces(config, env).catch(async (error: unknown) => {
          await server.stop();
          throw error;
        })
      : untraced;
    return {
      address: server.address,
      uiUrl: server.uiUrl,
      workerEnv: traces.env,
      settings: {
        store: 'sqlite file (npm start)',
        traces: traced ? 'on (OTLP receiver, as npm start)' : 'off (OTEL_TRACES_EXPORTER=none)',
      },
      async stop() {
        await traces.stop().catch(() => undefined);
        await server.stop();
      },
    };
  }
  const databases = Object.values(temporalDatabases(options.databasePrefix));
  const dropDatabases = () =>
    Promise.all(databases.map((name) => dropDatabaseIfExists(withDatabase(options.postgresUrl, name))));
  const cluster = await startCluster({
    ports: await freeClusterPorts(),
    postgresUrl: options.postgresUrl,
    databasePrefix: options.databasePrefix,
    dataDir: options.dataDir,
    fresh: true,
    log: options.log,
  }).catch(async (error: unknown) => {
    await dropDatabases().catch(() => undefined);
    throw error;
  });
  return {
    address: cluster.address,
    uiUrl: cluster.uiUrl,
    workerEnv: {},
    settings: {
      store: `postgresql (${databases.join(', ')})`,
      nodes: 'frontend, 2 history, 2 matching, worker',
      traces: 'off',
    },
    async stop() {
      await cluster.stop();
      await dropDatabases().catch(() => undefined);
    },
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
