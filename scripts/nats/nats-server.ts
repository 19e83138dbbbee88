import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { portInUse } from '../lib/ports';
import { runProcess, type Supervised } from '../lib/processes';

/**
 * A nats-server with JetStream of our own: for `npm start` when no broker answers, and for the tests (a
 * broker per run, stopped and started by the outage tests; the machine's shared one is never touched).
 */
export interface NatsServer {
  url: string;
  port: number;
  process: Supervised;
  stop(): Promise<void>;
}

/** nats-server from PATH, or Debian's under /usr/sbin (not on a user's PATH). */
export function resolveNatsServerBinary(): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'nats-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error('nats-server was not found on PATH or in /usr/sbin');
}

export async function startNatsServer(options: {
  port: number;
  storeDir: string;
  host?: string;
  /** Default: resolveNatsServerBinary(). */
  binary?: string;
  log?: (line: string) => void;
}): Promise<NatsServer> {
  const host = options.host ?? '127.0.0.1';
  if (await portInUse(options.port, host)) {
    throw new Error(`port ${options.port} is in use (NATS): stop what uses it or choose another`);
  }
  mkdirSync(options.storeDir, { recursive: true });
  const binary = options.binary ?? resolveNatsServerBinary();
  const child = runProcess(
    'nats',
    binary,
    ['-js', '-a', host, '-p', String(options.port), '-sd', options.storeDir],
    process.env,
    options.log ?? (() => {}),
  );
  const url = `nats://${host}:${options.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.child.exitCode !== null || child.child.signalCode !== null) {
      throw new Error(`nats-server exited during start-up (port ${options.port})`);
    }
    try {
      const nc = await connect({ servers: url, timeout: 1000 });
      await nc.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await child.stop();
        throw new Error(`nats-server did not answer on ${url} within 30 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { url, port: options.port, process: child, stop: () => child.stop() };
}
