/**
 * The saga's observable state: what the workflow's query returns and the API shows. Plain types and
 * constants only, because workflow code imports this module and must stay deterministic and small.
 */

/** Closed set of saga statuses; see the README's "Saga statuses" table. */
export const SAGA_STATUSES = [
  'RUNNING',
  'COMPLETED',
  'COMPENSATING',
  'COMPENSATED',
  'COMPENSATION_FAILED',
  'RESOLVED',
] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];

/** Statuses in which the saga will do nothing more on its own. COMPENSATION_FAILED waits for an operator. */
export const FINAL_SAGA_STATUSES: readonly SagaStatus[] = ['COMPLETED', 'COMPENSATED', 'RESOLVED'];

/** CANCELLED: cancelled in flight (a user's cancel, the saga deadline, a failed sibling) and ended so. */
export const STEP_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const COMPENSATION_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type CompensationStatus = (typeof COMPENSATION_STATUSES)[number];

/**
 * What a call is doing while Temporal retries it. The workflow does not see retries, so the API fills
 * these in from the pending activity Temporal reports.
 */
export interface RetryProgress {
  /** The attempt running or next to run (1 for the first). */
  attempts: number;
  lastError?: string;
  /** When the next attempt starts, while the call waits in backoff. */
  nextRetryAt?: string;
  /** When the call's deadline passes and the saga stops retrying it. */
  deadlineAt?: string;
}

export interface StepRecord extends RetryProgress {
  name: string;
  /** compensatable, pivot or retriable; absent in sagas started before step kinds existed. */
  kind?: 'compensatable' | 'pivot' | 'retriable';
  /** The index of the step's parallel group in the definition; absent for a step on its own. */
  group?: number;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
}

export interface CompensationRecord extends RetryProgress {
  /** The step whose effect this compensation undoes. */
  step: string;
  activity: string;
  status: CompensationStatus;
  startedAt?: string;
  endedAt?: string;
}

export interface SagaState {
  sagaId: string;
  sagaName: string;
  /** The definition version the saga runs (see the README's "Versioning"); absent before versions. */
  sagaVersion?: number;
  status: SagaStatus;
  startedAt: string;
  endedAt?: string;
  /** Why the saga compensated: the failed step's error, or a user's cancel. */
  failure?: { step?: string; reason: string; cancelled: boolean };
  /** Why the saga waits for an operator (COMPENSATION_FAILED). */
  parkedReason?: string;
  /** The operator's note; `by` names its author (absent for sagas resolved before the audit existed). */
  resolution?: { note: string; at: string; by?: string };
  /** Every accepted cancel, resume and resolve: what, who (the API's principal id) and when. */
  audit?: AuditEntry[];
  /** When a user's cancel was accepted (the saga then compensates, after any step in flight has ended). */
  cancelRequestedAt?: string;
  compensationMode: CompensationMode;
  steps: StepRecord[];
  compensations: CompensationRecord[];
}

export const AUDITED_ACTIONS = ['cancel', 'resume', 'resolve'] as const;
export type AuditedAction = (typeof AUDITED_ACTIONS)[number];

export interface AuditEntry {
  action: AuditedAction;
  /** The principal that asked; absent when the update carried none (an older client). */
  by?: string;
  at: string;
}

export type CompensationMode = 'sequential' | 'parallel';

/** How a saga ended, as returned by the workflow. */
export interface SagaOutcome<Data = Record<string, unknown>> {
  sagaId: string;
  status: SagaStatus;
  failure?: SagaState['failure'];
  data: Data;
  /** The saga's state at its end; absent in results of sagas that ended before it was added. */
  state?: SagaState;
}
