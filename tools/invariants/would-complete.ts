import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { isOnHold } from '../../activities/orders/activities';
import { decideAuthorization } from '../../activities/payments/provider';
import { unserviceableReason } from '../../activities/shipments/serviceability';
import type { OrderRequest } from '../../shared/order';
import type { CallPolicy } from '../../shared/saga-settings';
import type { SagaStatus } from '../../shared/saga-state';
import { backoffDelay } from '../../workflows/saga/backoff';

/**
 * Would a saga have completed if no fault had been injected? Decided from the saga's own input (its order
 * and the retry settings it ran with) with the services' own pure decision functions: the simulated
 * provider (decideAuthorization), the carrier (unserviceableReason) and the orders service (isOnHold).
 * No rule of theirs is copied here; only the engine's retry budget is replayed.
 */

export type Outlook =
  | { verdict: 'completes'; reason: string }
  | { verdict: 'fails'; reason: string }
  /** Too close to a deadline to tell, or the settings give no bound: never counted either way. */
  | { verdict: 'undetermined'; reason: string };

/** How long and how often the engine retries one step's technical failures. */
export interface StepBudget {
  /** Today's engine: attempts per step (SAGA_STEP_MAX_ATTEMPTS). */
  maximumAttempts?: number;
  /** The forward-recovery engine: no attempt starts after this long from the step's first attempt. */
  deadlineMs?: number;
  startToCloseTimeoutMs: number;
  policy: CallPolicy;
}

/**
 * Scheduling latency the replay does not model (task dispatch, a database round trip): an attempt that
 * would start within this margin of the deadline, on either side, is "undetermined", not a verdict.
 */
export function deadlineSlackMs(attempt: number): number {
  return 1000 + 50 * attempt;
}

/** A bound on the attempts replayed, for settings that would retry (almost) forever. */
const MAX_REPLAYED_ATTEMPTS = 10_000;

const durationMs = (value: unknown): number | undefined =>
  typeof value === 'number' || typeof value === 'string' ? msToNumber(value as Duration) : undefined;

/**
 * The step budget of the saga's input settings (`settings.stepPolicy`). Today's settings carry
 * maximumAttempts; the forward-recovery engine carries a per-step deadline (`stepPolicy.deadline`, the
 * shipped SAGA_STEP_DEADLINE) and may drop maximumAttempts. Undefined when the settings have no policy.
 */
export function stepBudgetOf(settings: unknown): StepBudget | undefined {
  const policy = (settings as { stepPolicy?: Partial<CallPolicy> & { deadline?: unknown } } | undefined)
    ?.stepPolicy;
  if (!policy) return undefined;
  const startToCloseTimeoutMs = durationMs(policy.startToCloseTimeout);
  if (startToCloseTimeoutMs === undefined) return undefined;
  return {
    maximumAttempts: typeof policy.maximumAttempts === 'number' ? policy.maximumAttempts : undefined,
    deadlineMs: durationMs(policy.deadline),
    startToCloseTimeoutMs,
    policy: policy as CallPolicy,
  };
}

/**
 * Replays authorizePayment's attempts against the simulated provider: a decline fails, a provider error
 * is retried after the engine's backoff, a hang uses up the attempt's timeout, until the provider approves
 * or the budget (attempts or deadline) runs out.
 */
export function paymentOutlook(token: string, budget: StepBudget | undefined): Outlook {
  let startMs = 0; // when each attempt starts, from the step's first attempt, in a fault-free run
  let borderline = false;
  for (let attempt = 1; attempt <= MAX_REPLAYED_ATTEMPTS; attempt++) {
    if (budget?.maximumAttempts !== undefined && attempt > budget.maximumAttempts) {
      return fails(`payment not approved within ${budget.maximumAttempts} attempts`);
    }
    if (budget?.deadlineMs !== undefined) {
      const slack = deadlineSlackMs(attempt);
      if (startMs >= budget.deadlineMs + slack) {
        return fails(`payment not approved before the step deadline (attempt ${attempt} at ${startMs} ms)`);
      }
      if (startMs > budget.deadlineMs - slack) borderline = true;
    }
    const decision = decideAuthorization(token, attempt);
    if (decision.kind === 'approve') {
      return borderline
        ? undetermined(`payment approved at attempt ${attempt}, ${startMs} ms in: too close to the deadline`)
        : completes(`payment approved at attempt ${attempt}`);
    }
    if (decision.kind === 'decline') return fails(`payment declined: ${decision.reason}`);
    if (!budget || (budget.maximumAttempts === undefined && budget.deadlineMs === undefined)) {
      return undetermined('payment needs retries and the settings give no retry budget');
    }
    const took = decision.kind === 'hang' ? budget.startToCloseTimeoutMs : 0;
    startMs += took + backoffDelay(budget.policy, attempt);
  }
  return undetermined(`payment still not approved after ${MAX_REPLAYED_ATTEMPTS} replayed attempts`);
}

/** The outlook of an order saga started with this input, had nothing gone wrong but its own data. */
export function sagaOutlook(input: { order: OrderRequest; settings?: unknown }): Outlook {
  const outlooks: Outlook[] = [paymentOutlook(input.order.paymentToken, stepBudgetOf(input.settings))];
  const refusal = unserviceableReason(input.order.shippingAddress);
  if (refusal) outlooks.push(fails(`address not serviceable: ${refusal}`));
  if (isOnHold(input.order.customerId)) outlooks.push(fails('customer account on hold'));
  return (
    outlooks.find((o) => o.verdict === 'fails') ??
    outlooks.find((o) => o.verdict === 'undetermined') ??
    completes('payment approved, address serviceable, customer not on hold')
  );
}

/** Statuses of a saga that went backwards (compensating, compensated, parked, or resolved by an operator). */
export const BACKWARD_STATUSES: readonly SagaStatus[] = [
  'COMPENSATING',
  'COMPENSATED',
  'COMPENSATION_FAILED',
  'RESOLVED',
];

export interface SagaStory {
  sagaId: string;
  status?: SagaStatus;
  /** The workflow's start input, decoded; undefined when its history could not be read. */
  input?: { order: OrderRequest; settings?: unknown };
  /** The saga's own failure (its result, or its state while still running); undefined when unknown. */
  failure?: { step?: string; reason: string; cancelled: boolean };
  /** Whether a cancel was requested of the workflow (its history says so). */
  cancelRequested?: boolean;
}

export interface Finding {
  sagaId: string;
  detail: string;
}

/**
 * A saga that went backwards although its input would have completed and no one cancelled it: the
 * faults, not the business, rolled it back. Returns `counted` for such a saga, `undetermined` when the
 * facts do not settle it, nothing otherwise (completed, cancelled by a user, or would have failed anyway).
 */
export function classifyCompensation(
  story: SagaStory,
): { kind: 'counted' | 'undetermined'; finding: Finding } | undefined {
  if (!story.status || !BACKWARD_STATUSES.includes(story.status)) return undefined;
  const finding = (detail: string) => ({ sagaId: story.sagaId, detail });
  if (story.failure?.cancelled) return undefined;
  // Stock is shared: whether it sufficed depends on the other sagas, not on this saga's input.
  if (story.failure?.step === 'reserveStock' && story.failure.reason.startsWith('OutOfStock:'))
    return undefined;
  if (!story.input) return { kind: 'undetermined', finding: finding('start input not readable') };
  const outlook = sagaOutlook(story.input);
  if (outlook.verdict === 'fails') return undefined;
  if (outlook.verdict === 'undetermined') return { kind: 'undetermined', finding: finding(outlook.reason) };
  if (!story.failure && story.cancelRequested !== false) {
    // Neither its result nor its state says why it went backwards, and a user may have cancelled it.
    return {
      kind: 'undetermined',
      finding: finding('saga state not readable and a cancel may have been requested'),
    };
  }
  const step = story.failure ? `step ${story.failure.step ?? 'unknown'} failed` : 'no cancel requested';
  return {
    kind: 'counted',
    finding: finding(`${story.status} (${step}); its input would have completed: ${outlook.reason}`),
  };
}

function completes(reason: string): Outlook {
  return { verdict: 'completes', reason };
}
function fails(reason: string): Outlook {
  return { verdict: 'fails', reason };
}
function undetermined(reason: string): Outlook {
  return { verdict: 'undetermined', reason };
}
