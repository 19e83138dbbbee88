/**
 * `npm start`: the whole stack on this machine. Temporal dev server (+ Web UI) on a persistent SQLite
 * file, the three databases, the four workers and the API. Ctrl-C stops all of it: API and workers
 * first (they finish their in-flight work), then Temporal, then the databases.
 */
import { ConfigError, SERVICES, loadConfig } from '../shared/config';
import { taskQueues } from '../shared/task-queues';
import { prepareDatabases, type PreparedDatabases } from './db/prepare';
import { LOCAL_DEV_API_KEY, localDevServerOptions, localStackConfigSchema } from './lib/local-stack-config';
import { assertPortFree, clientHost } from './lib/ports';
import { describeExit, runTs, type Supervised } from './lib/processes';
import { waitForHttp, waitForPollers } from './lib/readiness';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { resolveTemporalCli } from './temporal/provision';

const say = (line: string) => console.log(`[start] ${line}`);
const KINDS = ['orchestrator', ...SERVICES] as const;

let server: DevServer | undefined;
let databases: PreparedDatabases | undefined;
const children: Supervised[] = [];
let stopping: Promise<never> | undefined;
/** The start-up step under way: a Ctrl-C lets it finish, so that what it starts is stopped too. */
let inFlight: Promise<unknown> = Promise.resolve();

async function step<T>(work: () => Promise<T>, keep: (value: T) => void): Promise<T> {
  const running = work().then((value) => {
    keep(value);
    return value;
  });
  inFlight = running.catch(() => undefined);
  return running;
}

/** Stops whatever runs, in dependency order, then exits; later calls share the first one's stop. */
function shutdown(code: number, reason?: string): Promise<never> {
  stopping ??= (async () => {
    if (reason) console.error(`[start] ${reason}`);
    say('stopping...');
    await inFlight;
    await Promise.all(children.map((child) => child.stop(10_000)));
    await server?.stop().catch((error: Error) => say(`Temporal server: ${error.message}`));
    await databases?.stop().catch((error: Error) => say(`databases: ${error.message}`));
    say('stopped');
    process.exit(code);
  })();
  return stopping;
}

async function main(): Promise<void> {
  const usesDevKey = !process.env.API_KEYS;
  const env = { ...process.env, API_KEYS: process.env.API_KEYS || LOCAL_DEV_API_KEY };
  const config = loadConfig(localStackConfigSchema, env);
  // Before anything starts, so that a busy port costs no start-up time (the dev server checks its own).
  await assertPortFree(config.API_PORT, config.API_HOST, 'API_PORT');

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) say('still stopping (children get 10 s to finish their work)...');
      void shutdown(0);
    });
  }

  await resolveTemporalCli({ log: say });
  const temporal = await step(
    () => startDevServer({ ...localDevServerOptions(config), log: say }),
    (started) => (server = started),
  );
  if (stopping) return;
  void temporal.exited.then((exit) =>
    shutdown(1, `the Temporal server exited unexpectedly (${describeExit(exit)}; see ${temporal.logFile})`),
  );
  say(`Temporal server on ${temporal.address}`);

  const prepared = await step(
    () => prepareDatabases(config, { log: say }),
    (started) => (databases = started),
  );
  if (stopping) return;

  const childEnv = {
    ...env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_UI_URL: temporal.uiUrl,
    ORDERS_DATABASE_URL: prepared.urls.orders,
    PAYMENTS_DATABASE_URL: prepared.urls.payments,
    SHIPMENTS_DATABASE_URL: prepared.urls.shipments,
  };
  const width = Math.max(...KINDS.map((kind) => kind.length));
  const workers = KINDS.map((kind) => runTs(kind, 'worker/main.ts', [kind], childEnv, undefined, width));
  const api = runTs('api', 'api/main.ts', [], childEnv, undefined, width);
  children.push(...workers, api);
  for (const child of children) {
    void child.exited.then((exit) =>
      shutdown(1, `${child.name} exited unexpectedly (${describeExit(exit)}); stopping everything`),
    );
  }

  const apiUrl = `http://${clientHost(config.API_HOST)}:${config.API_PORT}`;
  await waitForHttp(`${apiUrl}/health/live`, api);
  await waitForPollers(
    temporal.address,
    config.TEMPORAL_NAMESPACE,
    taskQueues(config.TASK_QUEUE_PREFIX),
    workers,
  );
  const key = usesDevKey ? LOCAL_DEV_API_KEY : '<one of API_KEYS>';
  console.log(
    [
      '',
      `  API          ${apiUrl}   (docs: ${apiUrl}/docs)`,
      `  Temporal UI  ${temporal.uiUrl}`,
      ...(usesDevKey
        ? [`  API key      ${LOCAL_DEV_API_KEY}   (local default; set API_KEYS to choose your own)`]
        : []),
      '',
      `  Try: curl -s -X POST '${apiUrl}/sagas?waitSeconds=10' -H 'Authorization: Bearer ${key}' \\`,
      `         -H 'Content-Type: application/json' -d @examples/order.json`,
      '',
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch(async (error: unknown) => {
  // One line, no stack trace: a bad setting, a busy port, a server or database that would not start.
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ConfigError) {
    console.error(message);
    process.exit(1);
  }
  await shutdown(1, `npm start failed: ${message}`);
});
