/** `npm run temporal`: the Temporal dev server and Web UI alone, in the foreground, on the persistent data folder. */
import { ConfigError, loadConfig } from '../../shared/config';
import { devServerConfigSchema, localDevServerOptions } from '../lib/local-stack-config';
import { describeExit } from '../lib/processes';
import { startDevServer } from './dev-server';

const say = (line: string) => console.log(`[temporal] ${line}`);

async function main(): Promise<void> {
  const config = loadConfig(devServerConfigSchema);
  const server = await startDevServer({ ...localDevServerOptions(config), log: say });
  say(`server ${server.address} (namespace ${config.TEMPORAL_NAMESPACE}), Web UI ${server.uiUrl}`);
  say(`data in ${config.TEMPORAL_DATA_DIR}, server log ${server.logFile}; Ctrl-C stops it`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    void server.stop().then(() => {
      say('stopped');
      process.exit(0);
    });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  const exit = await server.exited;
  if (!stopping) {
    console.error(`temporal: the server exited unexpectedly (${describeExit(exit)}; see ${server.logFile})`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  // One line, no stack trace: a bad setting, a busy port, a server that would not start.
  const message = error instanceof Error ? error.message : String(error);
  console.error(error instanceof ConfigError ? message : `temporal: ${message}`);
  process.exit(1);
});
