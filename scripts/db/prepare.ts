/**
 * Prepares the three service databases: starts a local cluster if no server answers, creates each
 * database if missing and applies its committed migrations. `npm run db:prepare` runs it alone.
 */
import path from 'node:path';
import {
  DATABASE_URL_VARS,
  SERVICES,
  databaseConfigSchema,
  databaseUrl,
  loadConfig,
  type DatabaseConfig,
  type ServiceName,
} from '../../shared/config';
import { ensureDatabase, maskUrl, serverReachable } from './ensure-database';
import { startLocalCluster } from './local-cluster';
import { applyMigrations } from './migrate';

export interface PreparedDatabases {
  urls: Record<ServiceName, string>;
  stop(): Promise<void>;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export async function prepareDatabases(
  config: DatabaseConfig,
  options: { log?: (line: string) => void } = {},
): Promise<PreparedDatabases> {
  const log = options.log ?? (() => undefined);
  const urls = Object.fromEntries(SERVICES.map((s) => [s, databaseUrl(config, s)])) as Record<
    ServiceName,
    string
  >;
  const stops: (() => Promise<void>)[] = [];

  // Services may share a server; start at most one local cluster per unreachable local address.
  const started = new Set<string>();
  for (const service of SERVICES) {
    const url = new URL(urls[service]);
    if (await serverReachable(urls[service])) continue;
    if (!LOCAL_HOSTS.has(url.hostname)) {
      throw new Error(`no PostgreSQL server answers at ${url.host} (${DATABASE_URL_VARS[service]})`);
    }
    const port = Number(url.port || 5432);
    if (!started.has(url.host)) {
      const cluster = await startLocalCluster(port, log);
      stops.push(() => cluster.stop());
      started.add(url.host);
    }
  }

  for (const service of SERVICES) {
    const created = await ensureDatabase(urls[service]);
    const { applied } = await applyMigrations(
      urls[service],
      path.resolve(__dirname, '../../prisma', service, 'migrations'),
    );
    log(
      `${service}: ${maskUrl(urls[service])}${created ? ' (created)' : ''}, ` +
        (applied.length ? `applied ${applied.join(', ')}` : 'migrations up to date'),
    );
  }
  return {
    urls,
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
