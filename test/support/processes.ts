import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the signal or exit code once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  stop(): Promise<void>;
}

/** Runs `npm run worker -- <kind>`'s entry point as a real, separate process (so it can be killed). */
export function spawnWorker(kind: string, env: NodeJS.ProcessEnv): WorkerProcess {
  // One process (node with tsx's loader), so a SIGKILL hits the worker itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts', kind], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until the worker logged that it polls its task queue. */
export async function waitForWorkerStart(worker: WorkerProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/worker started/.test(worker.output())) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
      throw new Error(`worker exited early: ${worker.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`worker did not start: ${worker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
