import { EventEmitter } from 'node:events';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityMeta, BusinessErrorType } from '../../shared/activity-meta';
import type { ActInput, ActResult, LedgerActivities, LedgerServiceName, UndoInput } from './sagas';

/**
 * The synthetic services' ledger: one store in the test process that every synthetic service's activities
 * write to, so a test reads what each service did, in the order it happened. It behaves like the real
 * services' ledgers where the engine depends on it (an effect applied once per idempotency key, a
 * compensation that finds nothing to undo leaves a tombstone that a late action respects); the real
 * databases' behaviour is covered by the integration tests.
 */
export type Effect =
  /** act: the step's effect took place. */
  | 'applied'
  /** act: a business "no" (non-retryable), nothing applied. */
  | 'refused'
  /** act: a technical failure (Temporal retries it), nothing applied. */
  | 'error'
  /** act: the attempt reached its gate and waits there (released by the test, or cancelled). */
  | 'reached'
  /** act: the attempt was cancelled at its gate, nothing applied. */
  | 'cancelled'
  /** act: arrived after its compensation (a tombstone), nothing applied. */
  | 'tombstoned'
  /** act or undo: the same idempotency key again, nothing new. */
  | 'replayed'
  /** undo: started (before it does anything). */
  | 'started'
  /** undo: the step's effect was undone. */
  | 'undone'
  /** undo: nothing to undo; a tombstone is left. */
  | 'nothing';

export interface LedgerEntry {
  /** Position in the store: the order in which the services did things. */
  at: number;
  time: string;
  service: LedgerServiceName;
  sagaId: string;
  step: string;
  operation: 'act' | 'undo';
  effect: Effect;
  /** undo: whether its compensation was built from the step's result (the step succeeded). */
  sawResult?: boolean;
}

/** The business error the synthetic services answer with: one of the engine's business error types. */
export const REFUSAL: BusinessErrorType = 'InvalidTransition';

type State = 'applied' | 'undone' | 'tombstone';

class Ledger {
  readonly entries: LedgerEntry[] = [];
  private readonly states = new Map<string, { state: State; key: string }>();
  private readonly gates = new Map<string, { opened: Promise<void>; open: () => void }>();
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  of(sagaId: string): LedgerEntry[] {
    return this.entries.filter((e) => e.sagaId === sagaId);
  }

  /** Resolves with the first entry of the saga matching `match`, now or when it is written. */
  waitFor(sagaId: string, match: (e: LedgerEntry) => boolean, timeoutMs = 60_000): Promise<LedgerEntry> {
    const found = this.of(sagaId).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onEntry = (e: LedgerEntry) => {
        if (e.sagaId !== sagaId || !match(e)) return;
        clearTimeout(timer);
        this.events.off('entry', onEntry);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.events.off('entry', onEntry);
        reject(new Error(`ledger of ${sagaId}: no matching entry within ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on('entry', onEntry);
    });
  }

  /** Opens the gate a held step waits at (before or after it arrived). */
  release(sagaId: string, step: string): void {
    this.gate(sagaId, step).open();
  }

  /** Opens every gate: a worker shutting down waits for the activities held at one. */
  releaseAll(): void {
    for (const gate of this.gates.values()) gate.open();
  }

  gate(sagaId: string, step: string) {
    const key = `${sagaId}/${step}`;
    let gate = this.gates.get(key);
    if (!gate) {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      gate = { opened, open };
      this.gates.set(key, gate);
    }
    return gate;
  }

  record(entry: Omit<LedgerEntry, 'at' | 'time'>): void {
    const full = { ...entry, at: this.entries.length, time: new Date().toISOString() };
    this.entries.push(full);
    this.events.emit('entry', full);
  }

  stateOf(sagaId: string, step: string) {
    return this.states.get(`${sagaId}/${step}`);
  }

  setState(sagaId: string, step: string, state: State, key: string): void {
    this.states.set(`${sagaId}/${step}`, { state, key });
  }

  /** How many earlier calls of this operation failed (for "fail n times, then succeed"). */
  failuresOf(sagaId: string, step: string, operation: 'act' | 'undo'): number {
    return this.of(sagaId).filter(
      (e) => e.step === step && e.operation === operation && (e.effect === 'refused' || e.effect === 'error'),
    ).length;
  }
}

export const ledger = new Ledger();

/** The activities of one synthetic service, registered on its own task queue. */
export function ledgerActivities(service: LedgerServiceName): LedgerActivities {
  return {
    async act({ sagaId, step, behaviour }: ActInput, meta: ActivityMeta): Promise<ActResult> {
      const write = (effect: Effect) => ledger.record({ service, sagaId, step, operation: 'act', effect });
      const result: ActResult = { ref: `${service}:${step}` };
      const current = ledger.stateOf(sagaId, step);
      if (current?.state === 'tombstone') {
        write('tombstoned');
        return result;
      }
      if (current && current.key === meta.idempotencyKey) {
        write('replayed');
        return result;
      }
      const failures = ledger.failuresOf(sagaId, step, 'act');
      switch (behaviour?.kind ?? 'ok') {
        case 'business':
          if (behaviour?.kind === 'business' && failures < (behaviour.times ?? Infinity)) {
            write('refused');
            throw ApplicationFailure.nonRetryable(`${step} refused by ${service}`, REFUSAL);
          }
          break;
        case 'technical':
          if (behaviour?.kind === 'technical' && failures < (behaviour.times ?? Infinity)) {
            write('error');
            throw new Error(`${service} is unavailable`);
          }
          break;
        case 'hold': {
          write('reached');
          const context = Context.current();
          // Heartbeats carry the cancel to the activity (the workers throttle them to 100 ms).
          const beat = setInterval(() => context.heartbeat(), 100);
          try {
            if (behaviour?.kind === 'hold' && behaviour.onCancel === 'abort') {
              await Promise.race([ledger.gate(sagaId, step).opened, context.cancelled]);
            } else {
              // Outlives a cancel: the step's effect takes place when the test opens the gate.
              await ledger.gate(sagaId, step).opened;
            }
          } catch (error) {
            write('cancelled');
            throw error;
          } finally {
            clearInterval(beat);
          }
          if (behaviour?.kind === 'hold' && behaviour.then === 'refuse') {
            write('refused');
            throw ApplicationFailure.nonRetryable(`${step} refused by ${service}`, REFUSAL);
          }
          break;
        }
      }
      ledger.setState(sagaId, step, 'applied', meta.idempotencyKey);
      write('applied');
      return result;
    },

    async undo({ sagaId, step, result, behaviour }: UndoInput, meta: ActivityMeta): Promise<void> {
      const write = (effect: Effect) =>
        ledger.record({ service, sagaId, step, operation: 'undo', effect, sawResult: result !== undefined });
      write('started');
      if (behaviour?.kind === 'barrier') {
        // Waits until `count` compensations of the saga have started: they only all start if they run
        // side by side. Bounded, so that sequential compensations end (and the test's order check fails).
        const started = () =>
          ledger.of(sagaId).filter((e) => e.operation === 'undo' && e.effect === 'started').length;
        const until = Date.now() + 20_000;
        while (started() < behaviour.count && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      const current = ledger.stateOf(sagaId, step);
      if (current?.state === 'applied') {
        ledger.setState(sagaId, step, 'undone', meta.idempotencyKey);
        write('undone');
      } else if (current && current.key === meta.idempotencyKey) {
        write('replayed');
      } else {
        ledger.setState(sagaId, step, 'tombstone', meta.idempotencyKey);
        write('nothing');
      }
    },
  };
}
