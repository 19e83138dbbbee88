/**
 * The Temporal server `npm start` and `npm run temporal` run, by TEMPORAL_MODE: the CLI's dev server
 * (default) or the production-shaped cluster. Both give the same address, Web UI URL and stop().
 */
import path from 'node:path';
import type { z } from '../../shared/zod';
import type { localStackConfigSchema } from '../lib/local-stack-config';
import { clusterPortsFrom } from './cluster-config';
import { startCluster } from './cluster';
import { startDevServer } from './dev-server';

export interface LocalTemporal {
  mode: 'dev' | 'cluster';
  address: string;
  uiUrl: string;
  /** Cluster mode: resolves when a server process crash-loops (the dev server has no such watch). */
  failed?: Promise<Error>;
  stop(): Promise<void>;
}

export async function startLocalTemporal(
  config: z.infer<typeof localStackConfigSchema>,
  options: { uiCodecEndpoint?: string; log: (line: string) => void },
): Promise<LocalTemporal> {
  const [ip, port] = config.TEMPORAL_ADDRESS.split(':') as [string, string];
  if (config.TEMPORAL_MODE === 'dev') {
    const server = await startDevServer({
      ip,
      port: Number(port),
      uiPort: config.TEMPORAL_UI_PORT,
      dbFile: path.join(config.TEMPORAL_DATA_DIR, 'temporal.sqlite'),
      logFile: path.join(config.TEMPORAL_DATA_DIR, 'temporal.log'),
      uiCodecEndpoint: options.uiCodecEndpoint,
      log: options.log,
    });
    return { mode: 'dev', ...server };
  }
  const cluster = await startCluster({
    ip,
    ports: clusterPortsFrom(Number(port), config.TEMPORAL_UI_PORT, config.TEMPORAL_CLUSTER_BASE_PORT),
    postgresUrl: config.TEMPORAL_POSTGRES_URL,
    databasePrefix: config.TEMPORAL_DATABASE_PREFIX,
    dataDir: config.TEMPORAL_DATA_DIR,
    uiCodecEndpoint: options.uiCodecEndpoint,
    portVariables: {
      frontend: 'TEMPORAL_ADDRESS',
      ui: 'TEMPORAL_UI_PORT',
      internal: 'TEMPORAL_CLUSTER_BASE_PORT',
    },
    log: options.log,
  });
  return { mode: 'cluster', ...cluster };
}
