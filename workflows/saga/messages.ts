import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { SagaState, SagaStatus } from '../../shared/saga-state';

/**
 * Who asks for an action: the API passes its caller's principal id, recorded in the saga's audit.
 * Optional: histories from before it (updates without arguments) replay unchanged.
 */
export interface ActionRequest {
  by?: string;
}

/**
 * The memo key of a finished saga's outcome (its result, final state included): describe returns it, so
 * reading a finished saga is one call, with no query (no replay) and no history read. Encrypted by the
 * payload codec like every payload.
 */
export const FINAL_OUTCOME_MEMO = 'sagaOutcome';

/** The saga's live state: status, steps, attempts, errors, compensation records. */
export const sagaStateQuery = defineQuery<SagaState>('sagaState');

/**
 * A user's cancel. Decided inside the workflow, so the answer is the truth: accepted (the saga now
 * compensates) only while the saga runs forward; refused with the reason once it completed, compensates
 * or is parked.
 */
export const cancelSagaUpdate = defineUpdate<{ status: SagaStatus }, [request: ActionRequest | undefined]>(
  'cancelSaga',
);

/** Operator action on a parked saga: retry the compensations that failed. */
export const resumeCompensationUpdate = defineUpdate<
  { status: SagaStatus },
  [request: ActionRequest | undefined]
>('resumeCompensation');

/** Operator action on a parked saga: the pending compensations were handled by hand; end the saga. */
export const markResolvedUpdate = defineUpdate<{ status: SagaStatus }, [ActionRequest & { note: string }]>(
  'markResolved',
);
