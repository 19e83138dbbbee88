import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

export const ROOT = path.resolve(__dirname, '../..');

export interface Supervised {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Runs a TypeScript entry point of the project as a child process (node with tsx's loader: one process,
 * so signals reach it directly), with every output line prefixed by its name.
 */
export function runTs(
  name: string,
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  write?: (line: string) => void,
): Supervised {
  return runProcess(name, process.execPath, ['--import', 'tsx', entry, ...args], env, write);
}

export interface RunOptions {
  cwd?: string;
  /**
   * Its own process group: Ctrl-C in the terminal then reaches only us, so we can stop our clients (the
   * workers) before the server they talk to, instead of everything dying at once.
   */
  detached?: boolean;
}

/** Runs an executable as a child process, with every output line prefixed by its name. */
export function runProcess(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  options: RunOptions = {},
): Supervised {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => write(`[${name}] ${line}`));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A command that could not be started (e.g. a missing binary) emits no exit: count it as code -1.
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: -1, signal: null });
    });
  });
  return {
    name,
    child,
    exited,
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Polls an HTTP URL until it answers 2xx or the time is up; given a process (not just its name), it fails
 * as soon as that process dies.
 */
export async function waitForHttp(
  url: string,
  process: Supervised | string,
  // Generous: a process that dies is reported at once, and on a loaded 2-core machine a tsx process
  // can take over a minute to compile, connect and answer (seen in a fresh CI run).
  timeoutMs = 180_000,
): Promise<void> {
  const name = typeof process === 'string' ? process : process.name;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      typeof process !== 'string' &&
      (process.child.exitCode !== null || process.child.signalCode !== null)
    ) {
      throw new Error(`${name} exited during start-up`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${url} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Resident memory of a process, in MiB with one decimal, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}
