import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../shared/search-attributes';
import { assertPortFree, clientHost } from '../lib/ports';
import { resolveTemporalCli } from './provision';

export interface DevServerOptions {
  port: number;
  uiPort: number;
  /** Address both servers bind; default 127.0.0.1. */
  ip?: string;
  /** SQLite file that keeps state across restarts; without it everything is lost on exit. */
  dbFile?: string;
  /** Created at start besides "default", which always exists. */
  namespace?: string;
  /** The server's own output (appended); default: a file in the OS temp folder named after the port. */
  logFile?: string;
  uiCodecEndpoint?: string;
  extraArgs?: string[];
  log?: (line: string) => void;
  /** How long to wait for the server to serve the namespace; default 60 s. */
  startTimeoutMs?: number;
  /** The settings named by a "port is in use" error; default TEMPORAL_ADDRESS and TEMPORAL_UI_PORT. */
  portSettings?: { port?: string; uiPort?: string };
}

export interface DevServer {
  /** host:port of the frontend, as TEMPORAL_ADDRESS takes it. */
  address: string;
  uiUrl: string;
  /** The server process itself (its process group is led by a small guard shell). */
  pid: number;
  logFile: string;
  /** Settles when the server has exited, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ends the server (SIGTERM, then SIGKILL after `timeoutMs`, default 15 s); safe to call twice. */
  stop(timeoutMs?: number): Promise<void>;
}

type IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

const INDEXED_VALUE_TYPES = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

export type SearchAttributeTypeName = keyof typeof INDEXED_VALUE_TYPES;

const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_TIMEOUT_MS = 15_000;
/** gRPC's ALREADY_EXISTS status code (grpc-js is no direct dependency of ours). */
const GRPC_ALREADY_EXISTS = 6;

/**
 * Runs the server under a guard shell that stops it when our end of the shell's stdin closes, i.e.
 * when this Node process exits for any reason, SIGKILL included. Without it, a Ctrl-C'd Jest run or a
 * crashed tool would leave a server behind (it sits in its own process group, out of Ctrl-C's reach).
 * The shell reports the server's pid on fd 3, ignores TERM so that it outlives the server stop()
 * signals along with it (and reaps it: then its exit means the server is gone), and exits with the
 * server's status.
 */
const GUARD_SCRIPT = `
exec 5<&0 0</dev/null
"$@" 3>&- 5<&- &
server=$!
echo "$server" >&3
exec 3>&-
( read -r _ <&5; kill -TERM "$server" 2>/dev/null ) &
guard=$!
exec 5<&-
trap : TERM INT HUP
while :; do
  wait "$server"
  status=$?
  kill -0 "$server" 2>/dev/null || break
done
kill "$guard" 2>/dev/null
exit "$status"
`;

/** The `temporal` arguments for these options (without the CLI's path). */
export function devServerArgs(options: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', options.ip ?? '127.0.0.1'];
  args.push('--port', String(options.port), '--ui-port', String(options.uiPort));
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  if (options.dbFile) args.push('--db-filename', path.resolve(options.dbFile));
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  args.push('--log-level', 'warn', ...(options.extraArgs ?? []));
  return args;
}

/**
 * Starts `temporal server start-dev` (server + Web UI) and resolves once it serves the namespace with
 * every custom search attribute registered.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  await assertPortFree(options.port, ip, options.portSettings?.port ?? 'TEMPORAL_ADDRESS');
  await assertPortFree(options.uiPort, ip, options.portSettings?.uiPort ?? 'TEMPORAL_UI_PORT');
  const cli = await resolveTemporalCli({ log: options.log });

  if (options.dbFile) mkdirSync(path.dirname(path.resolve(options.dbFile)), { recursive: true });
  const logFile = path.resolve(options.logFile ?? path.join(tmpdir(), `saga-temporal-${options.port}.log`));
  mkdirSync(path.dirname(logFile), { recursive: true });
  // A persistent log is appended to: only this run's part explains a failed start.
  const logOffset = options.logFile ? (statSync(logFile, { throwIfNoEntry: false })?.size ?? 0) : 0;
  const out = openSync(logFile, options.logFile ? 'a' : 'w');
  // Its own process group (detached), so a Ctrl-C in the terminal reaches only us and we stop it last.
  const child = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'temporal-guard', cli, ...devServerArgs(options)], {
    detached: true,
    stdio: ['pipe', out, out, 'pipe'],
  });
  closeSync(out);
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const stop = stopper(child, exited);

  const address = `${clientHost(ip)}:${options.port}`;
  try {
    const pid = await readPid(child.stdio[3] as Readable);
    const connection = await waitUntilServing(address, namespace, {
      timeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      hasExited: () => hasExited,
      explain: () => summarizeServerLog(readFrom(logFile, logOffset)),
      logFile,
    });
    try {
      await ensureSearchAttributes(connection, namespace);
    } finally {
      await connection.close();
    }
    return { address, uiUrl: `http://${clientHost(ip)}:${options.uiPort}`, pid, logFile, exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function stopper(child: ChildProcess, exited: Promise<unknown>): (timeoutMs?: number) => Promise<void> {
  let stopping: Promise<void> | undefined;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // already gone
    }
  };
  return (timeoutMs = DEFAULT_STOP_TIMEOUT_MS) => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), timeoutMs);
      // The guard shell exits only once it has reaped the server.
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
}

async function readPid(stream: Readable): Promise<number> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('the Temporal dev server could not be started');
  return pid;
}

function readFrom(file: string, offset: number): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * The server's last complaint as one line: the `msg` of its last error lines when it logged any (the
 * dev server logs `level=ERROR msg="..."`), else its last lines.
 */
export function summarizeServerLog(text: string, maxLength = 300): string {
  const lines = text
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const errors = lines.filter((line) =>
    /level=(ERROR|FATAL|DPANIC|PANIC)\b|^(Error|panic|fatal)\b/i.test(line),
  );
  const picked = (errors.length ? errors : lines).slice(-2).map((line) => {
    const msg = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
    return msg === undefined ? line : msg.replace(/\\"/g, '"');
  });
  const summary = picked.join(' | ').replace(/\s+/g, ' ') || 'no output';
  return summary.length > maxLength ? `${summary.slice(0, maxLength)}...` : summary;
}

async function waitUntilServing(
  address: string,
  namespace: string,
  wait: { timeoutMs: number; hasExited: () => boolean; explain: () => string; logFile: string },
): Promise<Connection> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    if (wait.hasExited()) throw new Error(`the Temporal dev server exited at start-up: ${wait.explain()}`);
    // A fresh connection per attempt: a reused one backs off between reconnects and would answer late.
    const connection = await Connection.connect({ address, connectTimeout: 1000 }).catch(() => undefined);
    if (connection) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return connection;
      } catch {
        await connection.close();
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the Temporal dev server did not serve namespace ${namespace} on ${address} within ` +
          `${Math.round(wait.timeoutMs / 1000)} s (see ${wait.logFile})`,
      );
    }
    await sleep(200);
  }
}

/**
 * Registers the custom search attributes the sagas use, if missing. With a persisted database the
 * --search-attribute flag only applies when the namespace is first created, so attributes added to the
 * code later are added here. Waits until the server lists them.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  attributes: Readonly<Record<string, SearchAttributeTypeName>> = SEARCH_ATTRIBUTES,
  timeoutMs = 30_000,
): Promise<void> {
  const missing = async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const absent: [string, SearchAttributeTypeName][] = [];
    for (const [name, type] of Object.entries(attributes)) {
      const existing = customAttributes?.[name];
      if (existing === undefined || existing === null) absent.push([name, type]);
      else if (existing !== INDEXED_VALUE_TYPES[type]) {
        throw new Error(
          `search attribute ${name} exists in namespace ${namespace} as ${typeName(existing)}, not ${type}: ` +
            'start from a fresh Temporal database (TEMPORAL_DATA_DIR) or rename the attribute',
        );
      }
    }
    return absent;
  };

  const absent = await missing();
  if (absent.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(absent.map(([name, type]) => [name, INDEXED_VALUE_TYPES[type]])),
    });
  } catch (error) {
    // Another process (a second test run, a restart racing us) may have added them first.
    if (!(isGrpcServiceError(error) && error.code === GRPC_ALREADY_EXISTS)) {
      throw new Error(
        `could not add search attributes to namespace ${namespace}: ${(error as Error).message}`,
      );
    }
  }
  const deadline = Date.now() + timeoutMs;
  while ((await missing()).length > 0) {
    if (Date.now() > deadline) {
      throw new Error(
        `search attributes of namespace ${namespace} were not registered within ${timeoutMs / 1000} s`,
      );
    }
    await sleep(200);
  }
}

function typeName(value: IndexedValueType): string {
  const found = Object.entries(INDEXED_VALUE_TYPES).find(([, type]) => type === value);
  return found ? found[0] : `type ${value}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
