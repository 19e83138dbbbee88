import { runTs, type Supervised } from '../../scripts/lib/processes';

/**
 * Keeps one worker process of each kind running, as a process manager would: a process that dies (or is
 * killed by the chaos run) is started again after a short delay.
 */
export class WorkerSupervisor {
  private readonly running = new Map<string, Supervised>();
  private stopping = false;
  restarts = 0;

  constructor(
    private readonly kinds: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly restartDelayMs = 1000,
  ) {}

  start(): void {
    for (const kind of this.kinds) this.spawn(kind);
  }

  private spawn(kind: string): void {
    const child = runTs(kind, 'worker/main.ts', [kind], this.env, (line) => {
      if (/"level":(50|60)/.test(line) || /failed:/.test(line)) process.stderr.write(`${line}\n`);
    });
    this.running.set(kind, child);
    void child.exited.then(() => {
      if (this.stopping) return;
      this.restarts += 1;
      setTimeout(() => !this.stopping && this.spawn(kind), this.restartDelayMs);
    });
  }

  /** SIGKILL: the worst crash, mid-task, with no chance to clean up. */
  kill(kind: string): void {
    this.running.get(kind)?.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.running.values()].map((c) => c.stop()));
  }
}
