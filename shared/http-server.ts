import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { ConfigError } from './config';

/** A certificate and key a server presents (HTTPS), from the variables named in messages. */
export interface ServerTls {
  certFile?: string;
  keyFile?: string;
  /** The variables' names, for messages: e.g. ['API_TLS_CERT_FILE', 'API_TLS_KEY_FILE']. */
  variables: [cert: string, key: string];
}

/**
 * An HTTP server, or an HTTPS one when a certificate and key are configured (both or neither). The files
 * were checked readable by the config schema; their content is never logged.
 */
export function createServer(
  app: RequestListener,
  tls: ServerTls,
): { server: Server; scheme: 'http' | 'https' } {
  const [certVar, keyVar] = tls.variables;
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError(
      `Invalid configuration: ${tls.certFile ? keyVar : certVar} is required with ${tls.certFile ? certVar : keyVar} (a certificate and its key)`,
    );
  }
  if (!tls.certFile || !tls.keyFile) return { server: createHttpServer(app), scheme: 'http' };
  try {
    return {
      server: createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, app),
      scheme: 'https',
    };
  } catch (error) {
    // A key that does not match the certificate, or a file that is not PEM.
    throw new ConfigError(
      `Invalid configuration: ${certVar}/${keyVar} are not a usable certificate and key (${(error as Error).message.split('\n')[0]})`,
    );
  }
}
