/** `npm run temporal`: the Temporal dev server and Web UI alone, in the foreground, on the persistent data folder. */
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { localStackConfigSchema, LOCAL_DEV_API_KEY } from '../lib/local-stack-config';
import { startDevServer } from './dev-server';

async function main(): Promise<void> {
  const config = loadConfig(localStackConfigSchema, { API_KEYS: LOCAL_DEV_API_KEY, ...process.env });
  const [ip, port] = config.TEMPORAL_ADDRESS.split(':') as [string, string];
  const server = await startDevServer({
    ip,
    port: Number(port),
    uiPort: config.TEMPORAL_UI_PORT,
    dbFile: path.join(config.TEMPORAL_DATA_DIR, 'temporal.sqlite'),
    logFile: path.join(config.TEMPORAL_DATA_DIR, 'temporal.log'),
    log: console.log,
  });
  console.log(`Temporal server on ${server.address}, Web UI ${server.uiUrl}; Ctrl-C stops it.`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`temporal failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
