import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/**
 * Child processes under supervision: output lines prefixed with the child's name, stop() that escalates
 * from SIGTERM to SIGKILL, and a last-resort SIGKILL for any child still running when this process
 * exits, so that a supervisor that fails leaves nothing behind.
 */

export const ROOT = path.resolve(__dirname, '../..');

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Supervised {
  name: string;
  child: ChildProcess;
  /** Settles when the process has ended (never rejects). */
  exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL if it still runs after `timeoutMs` (default 10 s); safe to call twice. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface SuperviseOptions {
  env?: NodeJS.ProcessEnv;
  /** Default: the project's root folder. */
  cwd?: string;
  /** Receives every output line, already prefixed; default: this process's stdout. */
  write?: (line: string) => void;
  /** Pads the name in the prefix to this width, so that the output of several children lines up. */
  prefixWidth?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts `command args`, writing each line of its stdout and stderr as `[name] line`. */
export function supervise(
  name: string,
  command: string,
  args: string[],
  options: SuperviseOptions = {},
): Supervised {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const prefix = `[${name}]`.padEnd((options.prefixWidth ?? 0) + 2);
  for (const stream of [child.stdout, child.stderr]) {
    readline
      .createInterface({ input: stream, crlfDelay: Infinity })
      .on('line', (line) => write(`${prefix} ${line}`));
  }
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // When spawning itself fails (no such command) no 'exit' follows.
    child.once('error', () => child.pid === undefined && resolve({ code: null, signal: null }));
  });
  let stopping: Promise<void> | undefined;
  return {
    name,
    child,
    exited,
    stop(timeoutMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/**
 * Runs a TypeScript entry point of the project: node with tsx's loader, one process and no npx, so
 * that signals reach the program itself and a SIGKILL kills it.
 */
export function runTs(
  name: string,
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  write?: (line: string) => void,
  prefixWidth?: number,
): Supervised {
  return supervise(name, process.execPath, ['--import', 'tsx', entry, ...args], { env, write, prefixWidth });
}

/** "code 1", "signal SIGKILL": how a child ended, for one-line messages. */
export function describeExit({ code, signal }: ExitInfo): string {
  if (signal) return `signal ${signal}`;
  return code === null ? 'it could not be started' : `code ${code}`;
}

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => child.pid === undefined && running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const orphan of running) orphan.kill('SIGKILL');
  });
}
