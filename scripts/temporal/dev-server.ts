import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, closeSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../shared/search-attributes';
import { portInUse } from '../lib/ports';
import { DISPATCH_DYNAMIC_CONFIG, FILE_STORE_PRAGMAS } from './dispatch-config';
import { resolveTemporalCli } from './provision';

export interface DevServerOptions {
  port: number;
  uiPort: number;
  ip?: string;
  /** SQLite file that keeps state across restarts; without it everything is lost on exit. */
  dbFile?: string;
  namespace?: string;
  logFile?: string;
  uiCodecEndpoint?: string;
  /** Dynamic config values (--dynamic-config-value); DISPATCH_DYNAMIC_CONFIG unless given (`{}`: none). */
  dynamicConfig?: Readonly<Record<string, unknown>>;
  /** SQLite pragmas of the file store (--sqlite-pragma); FILE_STORE_PRAGMAS unless given. */
  sqlitePragmas?: Readonly<Record<string, string>>;
  extraArgs?: string[];
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  pid: number;
  stop(): Promise<void>;
}

const INDEXED_VALUE_TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
};

/** Starts `temporal server start-dev` (server + Web UI) and returns once it serves the namespace. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  for (const [port, name] of [
    [options.port, 'Temporal port'],
    [options.uiPort, 'Temporal UI port'],
  ] as const) {
    if (await portInUse(port, ip))
      throw new Error(`port ${port} is in use (${name}): stop what uses it or choose another`);
  }
  const cli = await resolveTemporalCli({ log: options.log });
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
  ];
  args.push('--namespace', namespace, '--log-level', 'warn');
  if (options.dbFile) {
    mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
    for (const [name, value] of Object.entries(options.sqlitePragmas ?? FILE_STORE_PRAGMAS))
      args.push('--sqlite-pragma', `${name}=${value}`);
  }
  for (const [key, value] of Object.entries(options.dynamicConfig ?? DISPATCH_DYNAMIC_CONFIG))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  args.push(...(options.extraArgs ?? []));

  const logFile =
    options.logFile ?? path.join(path.dirname(options.dbFile ?? '.data/temporal/x'), 'temporal.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  // Its own process group, so stop() ends the server and anything it spawned, and Ctrl-C reaches us first.
  const child = spawn(cli, args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited = false;
  child.once('exit', () => (exited = true));

  const address = `${ip}:${options.port}`;
  const stop = async () => {
    if (exited) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
    await done;
    clearTimeout(timer);
  };

  try {
    const connection = await waitUntilServing(address, namespace, () => exited, logFile);
    try {
      await ensureSearchAttributes(connection, namespace);
    } finally {
      await connection.close();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, uiUrl: `http://${ip}:${options.uiPort}`, pid: child.pid!, stop };
}

async function waitUntilServing(
  address: string,
  namespace: string,
  hasExited: () => boolean,
  logFile: string,
): Promise<Connection> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (hasExited()) {
      const lastLine = readFileSync(logFile, 'utf8').trim().split('\n').pop() ?? '';
      throw new Error(`the Temporal dev server exited at start-up: ${lastLine.slice(0, 300)}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return connection;
      } catch (error) {
        await connection.close();
        throw error;
      }
    } catch {
      if (Date.now() > deadline)
        throw new Error(`the Temporal dev server did not answer on ${address} within 60 s (see ${logFile})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The saga's custom search attributes the namespace does not have yet, as [name, type]. */
export async function missingSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<[string, string][]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return Object.entries(SEARCH_ATTRIBUTES).filter(
    ([name]) => !(customAttributes && name in customAttributes),
  );
}

/**
 * With a persisted database, --search-attribute only applies when the namespace is first created, so
 * attributes added later are registered here; waits until they are visible.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const missing = () => missingSearchAttributes(connection, namespace);
  const absent = await missing();
  if (absent.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(absent.map(([name, type]) => [name, INDEXED_VALUE_TYPES[type]!])),
    });
  } catch (error) {
    if (!/already exists/i.test(String(error))) throw error;
  }
  const deadline = Date.now() + 30_000;
  while ((await missing()).length > 0) {
    if (Date.now() > deadline) throw new Error('custom search attributes were not registered within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
