/**
 * The broker `npm start` hands its workers: NATS_URL when set; else a NATS server already answering on
 * 127.0.0.1:4222 (LOCAL_NATS_PORT); else a nats-server with JetStream of our own on that port, its store under .data/nats,
 * from PATH (or /usr/sbin) or, when none is installed, built once from its Go module and cached beside the
 * Temporal binaries (~/.cache/saga/nats-server-<version>/).
 */
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { goInstallWithLock, sagaCacheRoot } from '../temporal/provision';
import { resolveNatsServerBinary, startNatsServer } from './nats-server';

export const NATS_SERVER_VERSION = 'v2.15.3';
/** Where a local NATS is looked for, and started when none answers (NATS's own default port). */
export const LOCAL_NATS_PORT = 4222;

export interface LocalBroker {
  url: string;
  /** For the start-up banner: where the broker comes from. */
  where: string;
  stop(): Promise<void>;
}

export function natsServerCacheDir(): string {
  return path.join(sagaCacheRoot(), `nats-server-${NATS_SERVER_VERSION.slice(1)}`);
}

/** nats-server from PATH or /usr/sbin, else the cached build of its Go module (built when missing). */
export async function resolveOrBuildNatsServer(log: (line: string) => void): Promise<string> {
  try {
    return resolveNatsServerBinary();
  } catch {
    return buildNatsServer(log);
  }
}

/** The cached build of NATS_SERVER_VERSION: minutes the first time (one build per machine), then nothing. */
export async function buildNatsServer(log: (line: string) => void): Promise<string> {
  const binary = path.join(natsServerCacheDir(), 'nats-server');
  await goInstallWithLock({
    what: `NATS server ${NATS_SERVER_VERSION}`,
    packages: [`github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`],
    binaries: { 'nats-server': binary },
    missingGo:
      'no NATS server answers on 127.0.0.1:4222, nats-server is not installed and Go is not installed ' +
      'to build it (install nats-server or Go, or set NATS_URL)',
    log,
  });
  return binary;
}

async function answers(url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, timeout: 1000, reconnect: false });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

export async function startLocalBroker(options: {
  natsUrl: string | undefined;
  dataDir: string;
  log: (line: string) => void;
  /** Default LOCAL_NATS_PORT (a test chooses a spare one: the machine's broker is never touched). */
  port?: number;
}): Promise<LocalBroker> {
  const none = async () => undefined;
  const port = options.port ?? LOCAL_NATS_PORT;
  const local = `nats://127.0.0.1:${port}`;
  if (options.natsUrl) return { url: options.natsUrl, where: 'NATS_URL', stop: none };
  if (await answers(local)) return { url: local, where: 'already running', stop: none };
  const binary = await resolveOrBuildNatsServer(options.log);
  const server = await startNatsServer({
    port,
    storeDir: options.dataDir,
    binary,
    log: (line) => options.log(`nats: ${line}`),
  });
  return {
    url: server.url,
    where: `${path.relative(process.cwd(), binary) || binary}, data in ${path.relative(process.cwd(), options.dataDir)}`,
    stop: () => server.stop(),
  };
}
