/**
 * `npm run temporal`: the Temporal server and Web UI alone, in the foreground, on the persistent data
 * (the dev server's SQLite file, or with TEMPORAL_MODE=cluster the cluster's PostgreSQL databases).
 */
import { loadConfig } from '../../shared/config';
import { localStackConfigSchema, LOCAL_DEV_API_KEY } from '../lib/local-stack-config';
import { startLocalTemporal } from './local-server';

async function main(): Promise<void> {
  const config = loadConfig(localStackConfigSchema, { API_KEYS: LOCAL_DEV_API_KEY, ...process.env });
  const server = await startLocalTemporal(config, { log: console.log });
  console.log(
    `Temporal ${server.mode === 'cluster' ? 'cluster' : 'server'} on ${server.address}, ` +
      `Web UI ${server.uiUrl}; Ctrl-C stops it.`,
  );
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    void server.stop().then(() => process.exit(code));
  };
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));
  void server.failed?.then((error) => {
    console.error(`temporal failed: ${error.message}`);
    stop(1);
  });
}

main().catch((error: unknown) => {
  console.error(`temporal failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
