/**
 * What a run started, stopped in reverse order, each step even if another fails: no server, worker or
 * proxy outlives a run that failed half-way. `run` may be called again; it runs only what was added since,
 * after the run in progress has finished.
 */
export class Teardown {
  private steps: (() => unknown)[] = [];
  /** The run in progress: a second run (an error path while a signal's run stops everything) waits for it. */
  private running: Promise<void> = Promise.resolve();
  /** `log` hears about a step that failed; without it, failures are ignored (the rest still runs). */
  constructor(private readonly log?: (line: string) => void) {}
  /** Set by close(): a step added after it (what was starting when the run was interrupted) runs at once. */
  private closed = false;
  add(step: () => unknown): void {
    this.steps.unshift(step);
    if (this.closed) void this.run();
  }
  run(): Promise<void> {
    const steps = this.steps;
    this.steps = [];
    this.running = this.running.then(async () => {
      for (const step of steps) {
        await Promise.resolve()
          .then(step)
          .catch((error: unknown) =>
            this.log?.(`stop failed: ${error instanceof Error ? error.message : String(error)}`),
          );
      }
    });
    return this.running;
  }
  /** Runs every step, and each one added from now on as it is added; resolves when none is left to run. */
  async close(): Promise<void> {
    this.closed = true;
    let current: Promise<void>;
    do {
      current = this.run();
      await current;
    } while (current !== this.running); // a step added meanwhile started a run of its own
  }
}

/**
 * Runs `stop` when the process is interrupted (SIGINT, SIGTERM), then exits with 130: a run interrupted
 * while it starts or measures leaves no server or worker behind (its children, when the signal reaches
 * this process alone, e.g. a CI timeout's SIGTERM, would otherwise outlive it). Pass a Teardown's close,
 * which also stops what was still starting. Returns the function that removes the handlers.
 */
export function stopOnSignals(stop: () => Promise<void>, log?: (line: string) => void): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // The same Ctrl-C often arrives twice (from the terminal and relayed by tsx): one stop is enough.
    if (stopping) return;
    stopping = true;
    log?.(`${signal}: stopping what this run started`);
    void stop().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
