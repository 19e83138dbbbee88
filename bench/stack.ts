import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { startApiServer, type ApiServer } from '../api/server';
import { appConfigSchema, loadConfig, SERVICES, type AppConfig } from '../shared/config';
import { dataConverterFromEnv, generateCodecKey } from '../shared/encryption/config';
import { prepareDatabases } from '../scripts/db/prepare';
import { exampleOrder } from '../examples/order';
import { dropDatabaseIfExists } from '../scripts/db/ensure-database';
import { freePort } from '../scripts/lib/ports';
import { runTs, type Supervised } from '../scripts/lib/processes';
import { startDevServer } from '../scripts/temporal/dev-server';

/** Stock for every saga a bench run can start (the demo catalogue would run out): the bench order's SKUs. */
export const BENCH_STOCK: Readonly<Record<string, number>> = Object.fromEntries(
  exampleOrder().items.map((item) => [item.sku, 1_000_000_000]),
);

export const BENCH_API_KEY = 'bench-key-0123456789abcdef';

export interface BenchStack {
  config: AppConfig;
  client: Client;
  api: ApiServer;
  workers: Supervised[];
  /** Resident memory of each worker process, in MiB, read from /proc. */
  workerRssMiB(): Record<string, number>;
  stop(): Promise<void>;
}

/**
 * The real stack, started for the benchmark alone: its own Temporal dev server (persistent SQLite file),
 * fresh databases, the four workers as separate processes and the API in this process. The saga and the
 * baseline run on this same stack.
 */
export async function startBenchStack(
  persistent: boolean,
  overrides: Record<string, string> = {},
): Promise<BenchStack> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'saga-bench-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    // In-memory SQLite by default: the dev server's file store syncs every write, which on a shared
    // disk dominates every figure. --persistent measures with the file store instead.
    ...(persistent ? { dbFile: path.join(dataDir, 'temporal.sqlite') } : {}),
    logFile: path.join(dataDir, 'temporal.log'),
  });
  const dbUrls = Object.fromEntries(
    [...SERVICES, 'provider'].map((s) => [
      `${s.toUpperCase()}_DATABASE_URL`,
      `postgresql://postgres@127.0.0.1:5432/saga_bench_${s}`,
    ]),
  );
  await Promise.all(Object.values(dbUrls).map(dropDatabaseIfExists));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...dbUrls,
    API_KEYS: BENCH_API_KEY,
    API_PORT: String(await freePort()),
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_UI_URL: server.uiUrl,
    LOG_LEVEL: 'warn',
    SAGA_CODEC_KEYS: process.env.SAGA_CODEC_KEYS ?? generateCodecKey('bench'),
    ...overrides,
  };
  const dataConverter = dataConverterFromEnv(env);
  const config = loadConfig(appConfigSchema, env);
  const databases = await prepareDatabases(config, { stock: BENCH_STOCK });
  const workers = ['orchestrator', ...SERVICES].map((kind) =>
    runTs(kind, 'worker/main.ts', [kind], env, (line) => {
      // Only errors: business failures of the compensation path are logged as warnings by design.
      if (/"level":(50|60)/.test(line) || !line.includes('"level"')) process.stderr.write(`${line}\n`);
    }),
  );
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, dataConverter });
  await waitForWorkers(client, config.TASK_QUEUE_PREFIX);
  const api = await startApiServer(config, pino({ level: 'silent' }), { dataConverter });
  return {
    config,
    client,
    api,
    workers,
    workerRssMiB: () =>
      Object.fromEntries(
        workers.map((w) => {
          const status = readFileSync(`/proc/${w.child.pid}/status`, 'utf8');
          const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
          return [w.name, Math.round((kb / 1024) * 10) / 10];
        }),
      ),
    async stop() {
      // Each part is stopped even if another fails, so no server or worker outlives a failed run.
      const steps = [
        () => api.close(),
        () => Promise.all(workers.map((w) => w.stop())),
        () => connection.close(),
        () => server.stop(),
        () => databases.stop(),
      ];
      for (const step of steps) await step().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until all four task queues have a poller, so the first measured saga does not wait for one. */
async function waitForWorkers(client: Client, prefix: string): Promise<void> {
  const queues = ['orchestrator', ...SERVICES].map((k) => `${prefix}${k}`);
  const deadline = Date.now() + 120_000;
  for (const name of queues) {
    for (;;) {
      const type = name.endsWith('orchestrator') ? 1 : 2; // workflow or activity task queue
      const { pollers } = await client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name },
        taskQueueType: type,
      });
      if (pollers.length > 0) break;
      if (Date.now() > deadline) throw new Error(`no worker polls ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
