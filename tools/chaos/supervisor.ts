import { runTs, type Supervised } from '../../scripts/lib/processes';

/** What a chaos run needs of a process manager (kept narrow so another supervisor can stand in). */
export interface ChaosWorkers {
  readonly restarts: number;
  start(): void;
  kill(kind: string): void;
  holdDown(kind: string, ms: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps one worker process of each kind running, as a process manager would: a process that dies (or is
 * killed by the chaos run) is started again after a short delay.
 */
export class WorkerSupervisor implements ChaosWorkers {
  private readonly running = new Map<string, Supervised>();
  /** Until when (epoch ms) a held-down kind must stay down. */
  private readonly heldUntil = new Map<string, number>();
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
      this.respawnAfter(kind, this.restartDelayMs);
    });
  }

  private respawnAfter(kind: string, ms: number): void {
    setTimeout(() => {
      if (this.stopping) return;
      const held = (this.heldUntil.get(kind) ?? 0) - Date.now();
      if (held > 0) this.respawnAfter(kind, held);
      else this.spawn(kind);
    }, ms);
  }

  /** SIGKILL: the worst crash, mid-task, with no chance to clean up. */
  kill(kind: string): void {
    this.running.get(kind)?.child.kill('SIGKILL');
  }

  /**
   * SIGKILLs the worker and keeps it down for `ms` (a host that stays down, a crash loop): the process
   * manager starts it again only then. Resolves when it has been started again.
   */
  async holdDown(kind: string, ms: number): Promise<void> {
    this.heldUntil.set(kind, Date.now() + ms);
    this.kill(kind);
    await new Promise((resolve) => setTimeout(resolve, ms + this.restartDelayMs));
    this.heldUntil.delete(kind);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.running.values()].map((c) => c.stop()));
  }
}
