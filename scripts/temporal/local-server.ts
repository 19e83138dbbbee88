/**
 * The Temporal server `npm start` and `npm run temporal` run, by TEMPORAL_MODE: the CLI's dev server
 * (default) or the production-shaped cluster. Both give the same address, Web UI URL and stop().
 */
import path from 'node:path';
import type { z } from '../../shared/zod';
import type { localStackConfigSchema } from '../lib/local-stack-config';
import { ConfigError } from '../../shared/config';
import { clusterPortsFrom, type ClusterTls } from './cluster-config';
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
  const tls = clusterTls(config);
  if (config.TEMPORAL_MODE === 'dev') {
    if (tls)
      throw new ConfigError(
        'Invalid configuration: TEMPORAL_CLUSTER_TLS_* needs TEMPORAL_MODE=cluster (the dev server has no TLS)',
      );
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
    tls,
    portVariables: {
      frontend: 'TEMPORAL_ADDRESS',
      ui: 'TEMPORAL_UI_PORT',
      internal: 'TEMPORAL_CLUSTER_BASE_PORT',
    },
    log: options.log,
  });
  return { mode: 'cluster', ...cluster };
}

const CLUSTER_TLS_VARIABLES = [
  'TEMPORAL_CLUSTER_TLS_CERT_FILE',
  'TEMPORAL_CLUSTER_TLS_KEY_FILE',
  'TEMPORAL_CLUSTER_TLS_CLIENT_CA_FILE',
] as const;
const CLIENT_TLS_VARIABLES = [
  'TEMPORAL_TLS_CA_FILE',
  'TEMPORAL_TLS_CERT_FILE',
  'TEMPORAL_TLS_KEY_FILE',
] as const;

/** The cluster's mTLS from the local stack's variables: all of them, or none. */
export function clusterTls(config: z.infer<typeof localStackConfigSchema>): ClusterTls | undefined {
  const set = CLUSTER_TLS_VARIABLES.filter((name) => config[name] !== undefined);
  if (set.length === 0) return undefined;
  const missing = [...CLUSTER_TLS_VARIABLES, ...CLIENT_TLS_VARIABLES].filter((name) => !config[name]);
  if (missing.length > 0) {
    throw new ConfigError(
      `Invalid configuration: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required with ${set.join(', ')} ` +
        '(mTLS on the cluster: its certificate, key and client CA, and the client certificate every process presents)',
    );
  }
  return {
    certFile: config.TEMPORAL_CLUSTER_TLS_CERT_FILE!,
    keyFile: config.TEMPORAL_CLUSTER_TLS_KEY_FILE!,
    clientCaFiles: [config.TEMPORAL_CLUSTER_TLS_CLIENT_CA_FILE!],
    serverCaFile: config.TEMPORAL_TLS_CA_FILE!,
    serverName: config.TEMPORAL_TLS_SERVER_NAME ?? config.TEMPORAL_ADDRESS.split(':')[0]!,
    clientCertFile: config.TEMPORAL_TLS_CERT_FILE!,
    clientKeyFile: config.TEMPORAL_TLS_KEY_FILE!,
  };
}
