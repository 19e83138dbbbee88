import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { dropDatabaseIfExists } from '../../scripts/db/ensure-database';
import { prepareDatabases } from '../../scripts/db/prepare';
import { resolveTemporalCli } from '../../scripts/temporal/provision';
import { startDevServer } from '../../scripts/temporal/dev-server';
import { freeClusterPorts, startCluster } from '../../scripts/temporal/cluster';
import { resolveClusterBinaries } from '../../scripts/temporal/server-build';
import { freePort } from '../../scripts/lib/ports';
import { startNatsServer } from '../../scripts/nats/nats-server';
import {
  DEFAULT_DATABASE_URLS,
  DATABASE_URL_VARS,
  DEFAULT_ORDER_HISTORY_DATABASE_URL,
  DEFAULT_PROVIDER_DATABASE_URL,
  SERVICES,
  databaseConfigSchema,
  loadConfig,
} from '../../shared/config';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/telemetry';
import { FAILURE_CONVERTER_PATH, generateCodecKey } from '../../shared/encryption/config';
import { TEST_ENV } from './env';
import { TEST_STOCK } from './stock';

/**
 * Starts what the integration tests run against, once per `jest` run: the real Temporal dev server (built
 * from the CLI's Go module if missing) on spare ports (with TEST_TEMPORAL_MODE=cluster the production-shaped
 * cluster of scripts/temporal/cluster.ts instead), fresh PostgreSQL databases for the services (the
 * inventory stocked with TEST_STOCK), for the payment provider's store and for the order-history read model, a nats-server with JetStream, and one workflow bundle shared by every test's orchestrator worker.
 */
export default async function globalSetup(): Promise<void> {
  const outDir = path.resolve(__dirname, '../../test-output');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const prefix = process.env.TEST_DATABASE_PREFIX ?? 'saga_test_';
  const urls = Object.fromEntries(
    SERVICES.map((service) => {
      const url = new URL(
        process.env[`TEST_${service.toUpperCase()}_DATABASE_URL`] ?? DEFAULT_DATABASE_URLS[service],
      );
      // A prefix of one's own lets two checkouts run their suites side by side on one PostgreSQL.
      url.pathname = `/${prefix}${service}`;
      return [service, url.toString()];
    }),
  ) as Record<(typeof SERVICES)[number], string>;
  const providerUrl = new URL(process.env.TEST_PROVIDER_DATABASE_URL ?? DEFAULT_PROVIDER_DATABASE_URL);
  providerUrl.pathname = `/${prefix}provider`;
  const orderHistoryUrl = new URL(
    process.env.TEST_ORDER_HISTORY_DATABASE_URL ?? DEFAULT_ORDER_HISTORY_DATABASE_URL,
  );
  orderHistoryUrl.pathname = `/${prefix}order_history`;
  const config = loadConfig(databaseConfigSchema, {
    ...Object.fromEntries(SERVICES.map((service) => [DATABASE_URL_VARS[service], urls[service]])),
    PROVIDER_DATABASE_URL: providerUrl.toString(),
    ORDER_HISTORY_DATABASE_URL: orderHistoryUrl.toString(),
  });
  await Promise.all(
    [...Object.values(urls), providerUrl.toString(), orderHistoryUrl.toString()].map(dropDatabaseIfExists),
  );
  const databases = await prepareDatabases(config, { stock: TEST_STOCK });
  // A broker of the run's own: the outage tests stop and start theirs, the machine's shared one is never used.
  const nats = await startNatsServer({ port: await freePort(), storeDir: path.join(outDir, 'nats') });

  let address = process.env.TEST_TEMPORAL_ADDRESS;
  let uiUrl = process.env.TEST_TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233';
  if (!address && process.env.TEST_TEMPORAL_MODE === 'cluster') {
    // `npm run test:cluster`: the production-shaped cluster, on the test databases' PostgreSQL server,
    // with Temporal's databases named from the same prefix and dropped first, like the services' ones.
    const postgresUrl = new URL(urls.orders);
    postgresUrl.pathname = '/postgres';
    const cluster = await startCluster({
      ports: await freeClusterPorts(),
      postgresUrl: postgresUrl.toString(),
      databasePrefix: prefix,
      dataDir: outDir,
      fresh: true,
      log: (line) => console.log(`[temporal cluster] ${line}`),
    });
    address = cluster.address;
    uiUrl = cluster.uiUrl;
    globalThis.__SAGA_TEST_STOP__ = async () => {
      await cluster.stop();
      await databases.stop();
      await nats.stop();
    };
  } else if (!address) {
    await resolveTemporalCli({ log: (line) => console.log(line) });
    // The mTLS test runs the cluster's binaries: built here, outside any test's timeout, on a new machine.
    await resolveClusterBinaries({ log: (line) => console.log(line) });
    // A spare port can be taken by another process between its choice and the server's bind (seen once
    // in a fresh CI run): choose again rather than fail the whole run.
    const startServer = async () =>
      startDevServer({
        port: await freePort(),
        uiPort: await freePort(),
        dbFile: path.join(outDir, 'temporal.sqlite'),
        logFile: path.join(outDir, 'temporal.log'),
      });
    const server = await startServer().catch(startServer).catch(startServer);
    address = server.address;
    uiUrl = server.uiUrl;
    globalThis.__SAGA_TEST_STOP__ = async () => {
      await server.stop();
      await databases.stop();
      await nats.stop();
    };
  } else {
    globalThis.__SAGA_TEST_STOP__ = async () => {
      await databases.stop();
      await nats.stop();
    };
  }

  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });
  const bundlePath = path.join(outDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  // Every client and worker of the run, in Jest's workers and in spawned processes, encrypts with it.
  // (Recording replay fixtures sets its own, kept in test/fixtures/histories/codec-keys.)
  if (!process.env.SAGA_CODEC_KEYS) {
    process.env.SAGA_CODEC_KEYS = `${generateCodecKey('test-old')},${generateCodecKey('test-1')}`;
    process.env.SAGA_CODEC_ACTIVE_KEY_ID = 'test-1';
  }
  process.env[TEST_ENV.temporalAddress] = address;
  process.env[TEST_ENV.temporalUiUrl] = uiUrl;
  process.env[TEST_ENV.workflowBundle] = bundlePath;
  for (const service of SERVICES) process.env[DATABASE_URL_VARS[service]] = databases.urls[service];
  process.env[TEST_ENV.providerDb] = databases.providerUrl;
  process.env[TEST_ENV.orderHistoryDb] = databases.readModelUrls['order-history'];
  process.env[TEST_ENV.natsUrl] = nats.url;
  process.env[TEST_ENV.eventsStream] = `${prefix.toUpperCase()}EVENTS`;
}

declare global {
  var __SAGA_TEST_STOP__: (() => Promise<void>) | undefined;
}
