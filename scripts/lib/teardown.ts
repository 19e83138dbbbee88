/**
 * What a run started, stopped in reverse order, each step even if another fails: no server, worker or
 * proxy outlives a run that failed half-way. `run` may be called again; it runs only what was added since.
 */
export class Teardown {
  private steps: (() => unknown)[] = [];
  /** `log` hears about a step that failed; without it, failures are ignored (the rest still runs). */
  constructor(private readonly log?: (line: string) => void) {}
  add(step: () => unknown): void {
    this.steps.unshift(step);
  }
  async run(): Promise<void> {
    const steps = this.steps;
    this.steps = [];
    for (const step of steps) {
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) =>
          this.log?.(`stop failed: ${error instanceof Error ? error.message : String(error)}`),
        );
    }
  }
}
