import { setTimeout as sleep } from 'node:timers/promises';
import { backOff } from 'exponential-backoff';
import { runProcess, runTs, type RunOptions, type Supervised } from './processes';

/**
 * One child process to keep running: a TypeScript entry point of the project (`entry`, see runTs), or an
 * executable (`command`, e.g. a Temporal server node of the cluster mode).
 */
export type ProcessSpec = {
  name: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
} & ({ entry: string; command?: never } | ({ command: string; entry?: never } & RunOptions));

/** When a process that exited is started again, and when the supervisor gives up. */
export interface RestartPolicy {
  /** false: a process that exits stays down (compose's `restart: "no"`); true: `unless-stopped`. */
  restart: boolean;
  /** The first restart after a crash waits this long, each further one twice as long as the one before... */
  initialDelayMs: number;
  /** ...up to this. */
  maxDelayMs: number;
  /** A run at least this long ends a streak of crashes: its crash waits initialDelayMs again. */
  resetAfterMs: number;
  /** A crash loop: one process crashed this many times within crashWindowMs. Then everything stops. */
  maxCrashes: number;
  crashWindowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  restart: true,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  resetAfterMs: 10_000,
  maxCrashes: 5,
  crashWindowMs: 60_000,
};

export interface SupervisorOptions {
  policy?: Partial<RestartPolicy>;
  /** The supervisor's own lines (restarts, giving up). */
  log?: (line: string) => void;
  /** Every output line of every child, already prefixed with `[name] `. */
  output?: (line: string, name: string) => void;
}

type Exit = Awaited<Supervised['exited']>;

class Crash extends Error {
  constructor(
    readonly exit: Exit,
    readonly uptimeMs: number,
  ) {
    super(exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`);
  }
}

interface Slot {
  spec: ProcessSpec;
  current?: Supervised;
  starts: number;
  crashes: number[];
  /** Set while the process is held down on purpose; resolves when it may run again. */
  held?: Promise<void>;
  supervised?: boolean;
}

/**
 * Keeps child processes running, as compose's `restart: unless-stopped` would, in this process: a child
 * that exits is started again after a delay that doubles with each quick crash (exponential-backoff does the
 * waiting); a crash loop stops everything and resolves `failed`. Used by `npm start` (also for the Temporal
 * server nodes of its cluster mode), the chaos run and the tests.
 */
export class Supervisor {
  private readonly slots = new Map<string, Slot>();
  private readonly policy: RestartPolicy;
  private readonly log: (line: string) => void;
  private readonly aborted = new AbortController();
  private stopping = false;
  private giveUp!: (error: Error) => void;
  /** Resolves (never rejects) with the reason when the supervisor gave up on a crash loop. */
  readonly failed = new Promise<Error>((resolve) => (this.giveUp = resolve));

  constructor(
    specs: ProcessSpec[],
    private readonly options: SupervisorOptions = {},
  ) {
    for (const spec of specs) this.slots.set(spec.name, { spec, starts: 0, crashes: [] });
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.policy };
    this.log = options.log ?? ((line) => console.log(`[supervisor] ${line}`));
  }

  /**
   * Starts supervising the named processes (all by default) that are not supervised yet, so processes that
   * depend on another can be started once it is up (e.g. the first Temporal node initialises the database).
   */
  start(names: readonly string[] = [...this.slots.keys()]): void {
    for (const name of names) {
      const slot = this.slot(name);
      if (slot.supervised || this.stopping) continue;
      slot.supervised = true;
      void this.supervise(slot);
    }
  }

  /** Restarts so far, of all processes (`restarts`) or of one (`restartsOf`). */
  get restarts(): number {
    return [...this.slots.keys()].reduce((sum, name) => sum + this.restartsOf(name), 0);
  }

  restartsOf(name: string): number {
    return Math.max(0, this.slot(name).starts - 1);
  }

  /** The process running now under that name (undefined while it is down). */
  process(name: string): Supervised | undefined {
    const current = this.slot(name).current;
    return current && current.child.exitCode === null && current.child.signalCode === null
      ? current
      : undefined;
  }

  /** SIGKILL by default: the worst crash, with no chance to clean up; restarted by the policy. */
  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    this.process(name)?.child.kill(signal);
  }

  /**
   * Stops a process (SIGTERM, then SIGKILL) and starts it again ms after it is down; resolves once it is
   * down. The time counts from the exit: a graceful stop slower than ms must not look like a crash.
   */
  async hold(name: string, ms: number): Promise<void> {
    const slot = this.slot(name);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    slot.held = held;
    await slot.current?.stop();
    void sleep(ms, undefined, { signal: this.aborted.signal })
      .catch(() => undefined)
      .then(() => {
        if (slot.held === held) slot.held = undefined;
        release();
      });
  }

  /**
   * Stops a process (SIGTERM, then SIGKILL) and starts it again at once, not counted as a crash (a rolling
   * restart); resolves once the new process is spawned (whether it serves yet is the caller's to check).
   */
  async restart(name: string): Promise<void> {
    const slot = this.slot(name);
    const startsBefore = slot.starts;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    slot.held = held;
    await slot.current?.stop();
    // The supervising loop sees the exit (and that it is held) before the hold is lifted.
    await new Promise((resolve) => setImmediate(resolve));
    if (slot.held === held) slot.held = undefined;
    release();
    while (slot.starts === startsBefore && !this.stopping) await sleep(50);
  }

  /** Stops every process (SIGTERM, then SIGKILL after 10 s); none is started again. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.aborted.abort();
    await Promise.all([...this.slots.values()].map((slot) => slot.current?.stop()));
  }

  private slot(name: string): Slot {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no supervised process named ${name}`);
    return slot;
  }

  private async supervise(slot: Slot): Promise<void> {
    let crash = await this.runOnce(slot).then(noCrash, asCrash);
    while (crash && !this.stopping && this.restartAfter(slot, crash, this.policy.initialDelayMs)) {
      // One streak of quick crashes: each restart waits twice as long as the one before. A run that
      // lasted resetAfterMs ends the streak, and the loop starts a new one at initialDelayMs.
      crash = await backOff(() => this.runOnce(slot), {
        delayFirstAttempt: true,
        startingDelay: this.policy.initialDelayMs,
        maxDelay: this.policy.maxDelayMs,
        timeMultiple: 2,
        numOfAttempts: Number.POSITIVE_INFINITY,
        // exponential-backoff waits startingDelay * 2^attempt (capped) before attempt number `attempt`.
        retry: (next: Crash, attempt: number) =>
          next.uptimeMs < this.policy.resetAfterMs &&
          this.restartAfter(
            slot,
            next,
            Math.min(this.policy.initialDelayMs * 2 ** attempt, this.policy.maxDelayMs),
          ),
      }).then(noCrash, asCrash);
    }
  }

  /** Runs the process until it exits: resolves if it was stopped on purpose, rejects with a Crash if not. */
  private async runOnce(slot: Slot): Promise<void> {
    while (slot.held && !this.stopping) await slot.held;
    if (this.stopping) return;
    const { spec } = slot;
    const { name, args = [], env } = spec;
    const output = this.options.output;
    const write = output && ((line: string) => output(line, name));
    const child =
      spec.command !== undefined
        ? runProcess(name, spec.command, args, env, write, { cwd: spec.cwd, detached: spec.detached })
        : runTs(name, spec.entry, args, env, write);
    slot.current = child;
    slot.starts += 1;
    const started = Date.now();
    const exit = await child.exited;
    if (this.stopping) return;
    if (slot.held) return this.runOnce(slot);
    throw new Crash(exit, Date.now() - started);
  }

  /** Records a crash; says whether (and when) the process is restarted, or gives up on a crash loop. */
  private restartAfter(slot: Slot, crash: Crash, delayMs: number): boolean {
    const { name } = slot.spec;
    if (!this.policy.restart) {
      this.log(`${name} exited (${crash.message}); not restarting it (restart policy: no)`);
      return false;
    }
    const now = Date.now();
    slot.crashes = [...slot.crashes.filter((at) => at > now - this.policy.crashWindowMs), now];
    if (slot.crashes.length >= this.policy.maxCrashes) {
      const reason =
        `${name} crashed ${slot.crashes.length} times within ${seconds(this.policy.crashWindowMs)} ` +
        `(last: ${crash.message}); giving up: stopping everything`;
      this.log(reason);
      void this.stop().then(() => this.giveUp(new Error(reason)));
      return false;
    }
    this.log(`${name} exited (${crash.message}); restarting in ${seconds(delayMs)} (restart ${slot.starts})`);
    return true;
  }
}

const noCrash = (): undefined => undefined;
const asCrash = (error: unknown): Crash => {
  if (error instanceof Crash) return error;
  throw error;
};
const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`);

/** A worker process (`npm run worker -- <kind>`) as the supervisor runs it. */
export function workerSpec(kind: string, env: NodeJS.ProcessEnv): ProcessSpec {
  return { name: kind, entry: 'worker/main.ts', args: [kind], env };
}
