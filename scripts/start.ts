/**
 * `npm start`: the whole stack on this machine. Temporal dev server (+ Web UI) on a persistent SQLite
 * file, or with TEMPORAL_MODE=cluster the production-shaped Temporal cluster on PostgreSQL
 * (scripts/temporal/cluster.ts); the services' databases, the workers, the codec server and the API. A child that crashes is
 * restarted with growing delays; a crash loop stops everything (exit 1); Ctrl-C stops all of it.
 */
import path from 'node:path';
import { DATABASE_URL_VARS, databaseConfigSchema, loadConfig, SERVICES } from '../shared/config';
import { prepareDatabases, type PreparedDatabases } from './db/prepare';
import { collectsOwnTraces, startLocalTraces } from './lib/local-traces';
import { portInUse } from './lib/ports';
import { codecConfigSchema } from '../shared/encryption/config';
import { localCodecKeys } from './lib/local-codec-key';
import { LOCAL_DEV_API_KEY, localStackConfigSchema } from './lib/local-stack-config';
import { childLineFormatter } from './lib/log-format';
import { waitForHttp } from './lib/processes';
import { Supervisor, workerSpec } from './lib/supervisor';
import { Teardown } from './lib/teardown';
import { startLocalTemporal, type LocalTemporal } from './temporal/local-server';
import { startLocalBroker } from './nats/local-broker';

const say = (line: string) => console.log(`[start] ${line}`);
// Readable on a terminal, JSON lines when the output is a file or a pipe (LOG_FORMAT=json forces JSON).
const formatLine = childLineFormatter(process.stdout.isTTY === true && process.env.LOG_FORMAT !== 'json');

async function main(): Promise<void> {
  const usesDevKey = !process.env.API_KEYS;
  const base = { ...process.env, API_KEYS: process.env.API_KEYS || LOCAL_DEV_API_KEY };
  const config = loadConfig(localStackConfigSchema, base);
  const usesLocalCodecKey = !process.env.SAGA_CODEC_KEYS;
  const env: Record<string, string | undefined> = {
    ...base,
    SAGA_CODEC_KEYS: process.env.SAGA_CODEC_KEYS || localCodecKeys(config.CODEC_KEYS_FILE),
  };
  // The local key file holds one key: an active key id inherited for other keys would name none of it.
  if (usesLocalCodecKey) delete env.SAGA_CODEC_ACTIVE_KEY_ID;
  loadConfig(codecConfigSchema, env);
  const workerKinds = ['orchestrator', ...SERVICES] as const;
  const metricsPorts = workerKinds.map((_, i) => config.METRICS_BASE_PORT + i);
  const ports: [port: number, variable: string, host: string][] = [
    [config.API_PORT, 'API_PORT', config.API_HOST],
    [config.CODEC_SERVER_PORT, 'CODEC_SERVER_PORT', config.CODEC_SERVER_HOST],
    ...metricsPorts.map((port): [number, string, string] => [port, 'METRICS_BASE_PORT', config.METRICS_HOST]),
  ];
  if (collectsOwnTraces(process.env))
    ports.push([config.OTLP_RECEIVER_PORT, 'OTLP_RECEIVER_PORT', '127.0.0.1']);
  for (const [port, variable, host] of ports) {
    if (await portInUse(port, host)) {
      throw new Error(`port ${port} is in use (${variable}): stop what uses it or choose another port`);
    }
  }

  const stops = new Teardown(say);
  let children: Supervisor | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    await children?.stop();
    await stops.run();
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const codecUrl = `http://${config.CODEC_SERVER_HOST}:${config.CODEC_SERVER_PORT}`;
  try {
    const startTemporal = async () => {
      const server = await startLocalTemporal(config, { uiCodecEndpoint: codecUrl, log: say });
      stops.add(() => server.stop());
      // A server process that crash-loops (cluster mode) stops everything, as a worker's does.
      void server.failed?.then((error) => {
        say(`Temporal: ${error.message}`);
        return shutdown(1);
      });
      say(`Temporal ${server.mode === 'cluster' ? 'cluster' : 'server'} on ${server.address}`);
      return server;
    };
    const prepare = async () => {
      const prepared = await prepareDatabases(loadConfig(databaseConfigSchema, env), { log: say });
      stops.add(() => prepared.stop());
      return prepared;
    };
    // The cluster keeps its databases on PostgreSQL too: if prepareDatabases has to start a PostgreSQL of
    // its own (none answers), the cluster then finds it there.
    let server: LocalTemporal;
    let databases: PreparedDatabases;
    if (config.TEMPORAL_MODE === 'cluster') {
      databases = await prepare();
      server = await startTemporal();
    } else {
      server = await startTemporal();
      databases = await prepare();
    }

    // The outbox relays in the service workers publish the domain events to it.
    const broker = await startLocalBroker({
      natsUrl: config.NATS_URL,
      dataDir: config.NATS_DATA_DIR,
      log: say,
    });
    stops.add(() => broker.stop());
    say(`NATS on ${broker.url} (${broker.where})`);

    // Without a collector of one's own, spans go to a file that `npm run trace -- <saga id>` reads.
    const traces = await startLocalTraces(config, process.env);
    stops.add(() => traces.stop());

    const childEnv = {
      ...env,
      ...traces.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_UI_URL: server.uiUrl,
      NATS_URL: broker.url,
      ...Object.fromEntries(SERVICES.map((s) => [DATABASE_URL_VARS[s], databases.urls[s]])),
      ORDER_HISTORY_DATABASE_URL: databases.readModelUrls['order-history'],
    };
    children = new Supervisor(
      [
        ...workerKinds.map((kind, i) =>
          workerSpec(kind, { ...childEnv, METRICS_PORT: String(metricsPorts[i]) }),
        ),
        // The order-history read model's consumer (its metrics on a free port, logged at its start).
        { name: 'order-history', entry: 'read-models/order-history/main.ts', env: childEnv },
        { name: 'codec-server', entry: 'codec-server/main.ts', env: childEnv },
        { name: 'api', entry: 'api/main.ts', env: childEnv },
      ],
      { log: say, output: (line, name) => console.log(formatLine(line, name)) },
    );
    children.start();
    // A crash loop: the supervisor said why and stopped its children; stop the rest and exit 1.
    void children.failed.then(() => shutdown(1));
    const apiUrl = `http://${config.API_HOST}:${config.API_PORT}`;
    await Promise.race([
      children.failed.then((error) => Promise.reject(error)),
      Promise.all([
        waitForHttp(`${apiUrl}/health/ready`, 'api'),
        waitForHttp(`${codecUrl}/health`, 'codec-server'),
      ]),
    ]);

    console.log(
      [
        '',
        `  API          ${apiUrl}   (docs: ${apiUrl}/docs)`,
        `  Temporal UI  ${server.uiUrl}   (filter: SagaStatus="COMPENSATION_FAILED", OrderId="...", CustomerId="...")`,
        `  Codec server ${codecUrl}   (payloads are encrypted; to read them in the UI: sign in at ${codecUrl}/login,`,
        `               then in the UI's Codec Server settings choose "Use my browser setting", endpoint ${codecUrl},`,
        `               tick "Include cross-origin credentials"; use the same host name for the UI and this)`,
        usesLocalCodecKey
          ? `  Payload key  ${path.relative(process.cwd(), config.CODEC_KEYS_FILE)}   (made once; set SAGA_CODEC_KEYS to use your own)`
          : '',
        `  Metrics      ${apiUrl}/metrics (API); ${workerKinds
          .map((kind, i) => `${kind} http://${config.METRICS_HOST}:${metricsPorts[i]}/metrics`)
          .join(', ')}`,
        `  Traces       ${traces.where}`,
        `  Events       ${broker.url}   (JetStream stream ${config.EVENTS_STREAM}; ${broker.where})`,
        usesDevKey
          ? `  API key      ${LOCAL_DEV_API_KEY}   (local default; set API_KEYS to choose your own)`
          : '',
        '',
        `  Try: curl -s -X POST '${apiUrl}/sagas?waitSeconds=10' -H 'Authorization: Bearer <key>' \\`,
        `         -H 'Content-Type: application/json' -d @examples/order.json`,
        '',
        '  A process that crashes is restarted; Ctrl-C stops everything.',
        '',
      ]
        .filter((line, i, all) => line !== '' || all[i - 1] !== '')
        .join('\n'),
    );
  } catch (error) {
    say(`failed: ${error instanceof Error ? error.message : String(error)}`);
    await shutdown(1);
  }
}

main().catch((error: unknown) => {
  // Configuration errors land here before anything started: one line, no stack trace.
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
