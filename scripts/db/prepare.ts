/**
 * Prepares every service's and read model's database: starts a local cluster if no server answers, creates each database
 * if missing and applies its committed migrations; stocks the inventory's SKUs not stocked yet (the demo
 * catalogue unless told otherwise); and creates the simulated payment provider's own database
 * (PROVIDER_DATABASE_URL; the provider creates its tables on first use). `npm run db:prepare` runs it alone.
 */
import path from 'node:path';
import {
  DATABASE_URL_VARS,
  PROVIDER_DATABASE_URL_VAR,
  READ_MODELS,
  READ_MODEL_DATABASE_URL_VARS,
  SERVICES,
  databaseConfigSchema,
  databaseUrl,
  loadConfig,
  type DatabaseConfig,
  type ReadModelName,
  type ServiceName,
} from '../../shared/config';
import { DEMO_STOCK } from '../../examples/stock';
import { seedStock } from '../../activities/inventory/seed';
import { ensureDatabase, maskUrl, serverReachable } from './ensure-database';
import { startLocalCluster } from './local-cluster';
import { applyMigrations } from './migrate';

export interface PreparedDatabases {
  urls: Record<ServiceName, string>;
  /** The payment provider's own database. */
  providerUrl: string;
  /** Each read model's own database (migrated like a service's). */
  readModelUrls: Record<ReadModelName, string>;
  stop(): Promise<void>;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export async function prepareDatabases(
  config: DatabaseConfig,
  options: { log?: (line: string) => void; stock?: Readonly<Record<string, number>> } = {},
): Promise<PreparedDatabases> {
  const log = options.log ?? (() => undefined);
  const urls = Object.fromEntries(SERVICES.map((s) => [s, databaseUrl(config, s)])) as Record<
    ServiceName,
    string
  >;
  const providerUrl = config.PROVIDER_DATABASE_URL;
  const readModelUrls = Object.fromEntries(
    READ_MODELS.map((model) => [model, config[READ_MODEL_DATABASE_URL_VARS[model]]]),
  ) as Record<ReadModelName, string>;
  const stops: (() => Promise<void>)[] = [];

  // Services may share a server; start at most one local cluster per unreachable local address.
  const started = new Set<string>();
  const targets: [string, string][] = [
    ...SERVICES.map((s): [string, string] => [DATABASE_URL_VARS[s], urls[s]]),
    [PROVIDER_DATABASE_URL_VAR, providerUrl],
    ...READ_MODELS.map((m): [string, string] => [READ_MODEL_DATABASE_URL_VARS[m], readModelUrls[m]]),
  ];
  for (const [variable, target] of targets) {
    const url = new URL(target);
    if (await serverReachable(target)) continue;
    if (!LOCAL_HOSTS.has(url.hostname)) {
      throw new Error(`no PostgreSQL server answers at ${url.host} (${variable})`);
    }
    const port = Number(url.port || 5432);
    if (!started.has(url.host)) {
      const cluster = await startLocalCluster(port, log);
      stops.push(() => cluster.stop());
      started.add(url.host);
    }
  }

  const migrated: [name: ServiceName | ReadModelName, url: string][] = [
    ...SERVICES.map((s): [ServiceName, string] => [s, urls[s]]),
    ...READ_MODELS.map((m): [ReadModelName, string] => [m, readModelUrls[m]]),
  ];
  for (const [name, url] of migrated) {
    const created = await ensureDatabase(url);
    const { applied } = await applyMigrations(
      url,
      path.resolve(__dirname, '../../prisma', name, 'migrations'),
    );
    log(
      `${name}: ${maskUrl(url)}${created ? ' (created)' : ''}, ` +
        (applied.length ? `applied ${applied.join(', ')}` : 'migrations up to date'),
    );
  }
  const stocked = await seedStock(urls.inventory, options.stock ?? DEMO_STOCK);
  if (stocked > 0) log(`inventory: stocked ${stocked} SKU(s)`);
  const providerCreated = await ensureDatabase(providerUrl);
  log(`payment provider: ${maskUrl(providerUrl)}${providerCreated ? ' (created)' : ''}`);
  return {
    urls,
    providerUrl,
    readModelUrls,
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

if (require.main === module) {
  (async () => {
    const config = loadConfig(databaseConfigSchema);
    await prepareDatabases(config, { log: (line) => console.log(line) });
  })().catch((error: unknown) => {
    console.error(`db:prepare failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
