import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, type TemporalConfig } from './config';

/** The TLS settings of TemporalConfig (TEMPORAL_TLS_*, TEMPORAL_API_KEY); every other field is ignored. */
export type TemporalTlsSettings = Pick<
  TemporalConfig,
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CA_FILE'
  | 'TEMPORAL_TLS_CERT_FILE'
  | 'TEMPORAL_TLS_KEY_FILE'
  | 'TEMPORAL_TLS_SERVER_NAME'
  | 'TEMPORAL_API_KEY'
>;

/** What both Connection.connect (client) and NativeConnection.connect (worker) take. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

/**
 * The one place Temporal connection options are built from configuration: the API, every worker and the
 * tools connect with it. Plaintext unless a TLS variable or an API key is set; a client certificate needs
 * its key (and the other way round). The files were checked readable by the config schema.
 */
export function temporalConnectionOptions(
  config: TemporalTlsSettings & { TEMPORAL_ADDRESS: string },
): TemporalConnectionOptions {
  const { TEMPORAL_TLS_CERT_FILE: certFile, TEMPORAL_TLS_KEY_FILE: keyFile } = config;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      `Invalid configuration: ${certFile ? 'TEMPORAL_TLS_KEY_FILE' : 'TEMPORAL_TLS_CERT_FILE'} is required with ` +
        `${certFile ? 'TEMPORAL_TLS_CERT_FILE' : 'TEMPORAL_TLS_KEY_FILE'} (a client certificate and its key)`,
    );
  }
  const read = (file: string, variable: string) => {
    try {
      return readFileSync(file);
    } catch {
      throw new ConfigError(`Invalid configuration: ${variable} cannot be read`);
    }
  };
  const tlsConfig: TLSConfig = {
    ...(config.TEMPORAL_TLS_CA_FILE
      ? { serverRootCACertificate: read(config.TEMPORAL_TLS_CA_FILE, 'TEMPORAL_TLS_CA_FILE') }
      : {}),
    ...(certFile && keyFile
      ? {
          clientCertPair: {
            crt: read(certFile, 'TEMPORAL_TLS_CERT_FILE'),
            key: read(keyFile, 'TEMPORAL_TLS_KEY_FILE'),
          },
        }
      : {}),
    ...(config.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  const anyTls = Object.keys(tlsConfig).length > 0;
  if (config.TEMPORAL_TLS === false && anyTls) {
    throw new ConfigError(
      'Invalid configuration: TEMPORAL_TLS is false but TEMPORAL_TLS_* files or a server name are set',
    );
  }
  const useTls = anyTls || config.TEMPORAL_TLS === true || config.TEMPORAL_API_KEY !== undefined;
  return {
    address: config.TEMPORAL_ADDRESS,
    ...(useTls && config.TEMPORAL_TLS !== false ? { tls: anyTls ? tlsConfig : true } : {}),
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
  };
}

/** Whether the options connect over TLS (for log lines and messages; never the material itself). */
export function describeTransport(options: TemporalConnectionOptions): string {
  if (!options.tls) return 'plaintext';
  const mutual = typeof options.tls === 'object' && options.tls.clientCertPair ? 'mTLS' : 'TLS';
  return options.apiKey ? `${mutual} with an API key` : mutual;
}

/** Turns a connection failure into one line naming the address and the variable that set it. */
export async function connectOrExplain<T>(
  address: string,
  connect: () => Promise<T>,
  transport = 'plaintext',
): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]?.slice(0, 200) : undefined;
    throw new Error(
      transport === 'plaintext'
        ? `Temporal is not reachable at ${address} (TEMPORAL_ADDRESS): is the server running?`
        : `Temporal is not reachable at ${address} (TEMPORAL_ADDRESS) over ${transport} ` +
            `(TEMPORAL_TLS_*${transport.includes('API key') ? ', TEMPORAL_API_KEY' : ''}): ${reason ?? 'refused'}`,
    );
  }
}
