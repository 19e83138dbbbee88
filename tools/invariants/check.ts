import { checkSaga, sequenceViolation, type SagaFacts, type Violation } from './rules';
import { compensationModeOf, gatherFacts, listSagas, type Sources } from './facts';

export interface InvariantReport {
  sagasChecked: number;
  byStatus: Record<string, number>;
  violations: Violation[];
}

export interface CheckOptions {
  /** Extra visibility filter, e.g. `TaskQueue = 'saga-orchestrator'` or `StartTime > '…'`. */
  narrow?: string;
  /** A saga still RUNNING after this long is reported (default 10 minutes). */
  staleAfterMs?: number;
}

/** Checks every saga Temporal visibility knows of against the rows of the three service databases. */
export async function checkInvariants(
  sources: Sources,
  options: CheckOptions = {},
): Promise<InvariantReport> {
  const sagas = await listSagas(sources.client, options.narrow);
  const facts = await gatherFacts(sources, sagas);
  const violations: Violation[] = [];
  const byStatus: Record<string, number> = {};
  for (const saga of facts) {
    const key = saga.status ?? saga.temporalStatus;
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    violations.push(
      ...checkSaga(await withMode(sources, saga), {
        now: Date.now(),
        staleAfterMs: options.staleAfterMs ?? 600_000,
      }),
    );
  }
  return { sagasChecked: facts.length, byStatus, violations };
}

/** Only a saga whose compensations are out of reverse order needs to say whether it ran them in parallel. */
async function withMode(sources: Sources, saga: SagaFacts): Promise<SagaFacts> {
  if (
    !sequenceViolation(
      saga.effects.filter((e) => e.effect !== 'none' && e.effect !== 'declined'),
      'sequential',
    )
  )
    return saga;
  return { ...saga, compensationMode: await compensationModeOf(sources.client, saga.sagaId, saga.runId) };
}
