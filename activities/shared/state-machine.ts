/** A service's allowed status transitions, declared once and checked in one place. */
export class StateMachine<S extends string> {
  constructor(
    readonly name: string,
    private readonly transitions: Readonly<Record<S, readonly S[]>>,
  ) {}

  canTransition(from: S, to: S): boolean {
    return this.transitions[from].includes(to);
  }

  /** The statuses from which `to` may be reached: the WHERE clause of a conditional update. */
  sourcesOf(to: S): S[] {
    return (Object.keys(this.transitions) as S[]).filter((from) => this.canTransition(from, to));
  }
}
