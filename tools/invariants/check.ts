import { checkSaga, sequenceViolation, type SagaFacts, type Violation } from './rules';
import {
  compensationModeOf,
  gatherFacts,
  listSagas,
  readOutboxEvents,
  sagaStory,
  stockImbalances,
  type Sources,
} from './facts';
import { checkRefundSaga, refundOwnsRows } from './refund-rules';
import { outboxViolations, sequenceGapViolations } from './outbox-rules';
import { publishedViolations } from './published-rules';
import { readPublishedEvents } from './stream-facts';
import { BACKWARD_STATUSES, classifyCompensation, type Finding } from './would-complete';

export interface InvariantReport {
  /** Order sagas checked, by status. */
  sagasChecked: number;
  byStatus: Record<string, number>;
  /** Refund sagas checked, by status (their violations are in `violations` too). */
  refundsChecked: number;
  refundsByStatus: Record<string, number>;
  violations: Violation[];
  /** Outbox events compared with the events stream, or null when no broker was given (not checked). */
  eventsChecked: number | null;
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

/**
 * Checks every saga Temporal visibility knows of against the rows of the service databases (its ledger
 * effects one to one with its outbox events too, outbox-rules.ts), that the sagas' aggregates have gapless
 * event sequences, that the events stream holds each of those events once and in order (published-rules.ts;
 * when the sources include the broker), and that the inventory's units add up (whatever the visibility filter). Only
 * order sagas are asked whether they would have completed without the faults (would-complete.ts replays
 * the order saga's decisions; a refund's are not modelled yet).
 */
export async function checkInvariants(
  sources: Sources,
  options: CheckOptions = {},
): Promise<InvariantReport> {
  const [sagas, refundSagas] = await Promise.all([
    listSagas(sources.client, options.narrow),
    listSagas(sources.client, options.narrow, 'refundSaga'),
  ]);
  const [facts, refunds] = await Promise.all([
    gatherFacts(sources, sagas),
    gatherFacts(sources, refundSagas),
  ]);
  const ruleOptions = { now: Date.now(), staleAfterMs: options.staleAfterMs ?? 600_000 };
  const refundOf = new Map(refunds.flatMap((r) => (r.orderId ? [[r.orderId, r] as const] : [])));
  const orderSagaOf = new Map(facts.flatMap((f) => (f.orderId ? [[f.orderId, f] as const] : [])));
  const violations: Violation[] = [];
  const byStatus: Record<string, number> = {};
  for (const saga of facts) {
    const key = saga.status ?? saga.temporalStatus;
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    const refund = saga.orderId ? refundOf.get(saga.orderId) : undefined;
    const checked = refund && refundOwnsRows(refund) ? { ...saga, rowsChangedBy: refund.sagaId } : saga;
    violations.push(...checkSaga(await withMode(sources, checked), ruleOptions));
    violations.push(...outboxViolations({ ...saga, events: saga.events ?? [] }));
  }
  const refundsByStatus: Record<string, number> = {};
  for (const refund of refunds) {
    const key = refund.status ?? refund.temporalStatus;
    refundsByStatus[key] = (refundsByStatus[key] ?? 0) + 1;
    const orderSagaStatus = refund.orderId ? orderSagaOf.get(refund.orderId)?.status : undefined;
    violations.push(...checkRefundSaga({ ...refund, orderSagaStatus }, ruleOptions));
    violations.push(...outboxViolations({ ...refund, events: refund.events ?? [] }));
  }
  const orderIds = [...new Set([...facts, ...refunds].flatMap((f) => (f.orderId ? [f.orderId] : [])))];
  const outboxEvents = await readOutboxEvents(sources, orderIds);
  violations.push(...sequenceGapViolations(outboxEvents));
  if (sources.eventBus) {
    const published = await readPublishedEvents(sources.eventBus.nc, sources.eventBus.config);
    violations.push(...publishedViolations(outboxEvents, published));
  }
  for (const { sku, available, onHand, held } of await stockImbalances(sources.inventory)) {
    violations.push({
      sagaId: `(stock ${sku})`,
      rule: 'stock-conservation',
      detail: `${available} available + ${held} reserved, but ${onHand} on hand`,
    });
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
  return {
    sagasChecked: facts.length,
    byStatus,
    refundsChecked: refunds.length,
    refundsByStatus,
    violations,
    eventsChecked: sources.eventBus ? outboxEvents.length : null,
    compensatedWouldHaveCompleted,
    undetermined,
  };
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
