import { checkSaga, sequenceViolation, type SagaFacts, type Violation } from './rules';
import { compensationModeOf, gatherFacts, listSagas, sagaStory, type Sources } from './facts';
import { BACKWARD_STATUSES, classifyCompensation, type Finding } from './would-complete';

export interface InvariantReport {
  sagasChecked: number;
  byStatus: Record<string, number>;
  violations: Violation[];
  /** Sagas that went backwards although their input would have completed and no user cancelled them. */
  compensatedWouldHaveCompleted: Finding[];
  /** Sagas that went backwards for which the facts cannot tell (e.g. a retry just at the deadline). */
  undetermined: Finding[];
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
  const compensatedWouldHaveCompleted: Finding[] = [];
  const undetermined: Finding[] = [];
  const backward = facts.filter((f) => f.status && BACKWARD_STATUSES.includes(f.status));
  for (let i = 0; i < backward.length; i += STORY_BATCH) {
    const stories = await Promise.all(
      backward.slice(i, i + STORY_BATCH).map((f) => sagaStory(sources.client, f.sagaId, f.status)),
    );
    for (const story of stories) {
      const c = classifyCompensation(story);
      if (c) (c.kind === 'counted' ? compensatedWouldHaveCompleted : undetermined).push(c.finding);
    }
  }
  return { sagasChecked: facts.length, byStatus, violations, compensatedWouldHaveCompleted, undetermined };
}

/** Histories read at a time. */
const STORY_BATCH = 20;

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
