/**
 * Applies an effect at most once per idempotency key, enforced by the service's own database: the
 * effect and its ledger row commit in one transaction, and the ledger's unique key refuses a duplicate.
 * A retried or duplicated call returns the recorded outcome instead of acting again.
 */

export type Outcome = Record<string, string | number | boolean | null>;

export interface Ledger<Tx> {
  findOutcome(tx: Tx, idempotencyKey: string): Promise<Outcome | null>;
  record(tx: Tx, idempotencyKey: string, outcome: Outcome): Promise<void>;
}

export type TransactionRunner<Tx> = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

export async function applyOnce<Tx, O extends Outcome>(
  transaction: TransactionRunner<Tx>,
  ledger: Ledger<Tx>,
  idempotencyKey: string,
  apply: (tx: Tx) => Promise<O>,
): Promise<O> {
  const attempt = () =>
    transaction(async (tx) => {
      const recorded = await ledger.findOutcome(tx, idempotencyKey);
      if (recorded) return recorded as O;
      const outcome = await apply(tx);
      await ledger.record(tx, idempotencyKey, outcome);
      return outcome;
    });
  try {
    return await attempt();
  } catch (error) {
    // A concurrent duplicate committed first: its outcome is now recorded, and is ours.
    if (isUniqueViolation(error)) return attempt();
    throw error;
  }
}

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}

/**
 * The ledger key of an operation on one business object (an order, a payment, a shipment): the caller's
 * idempotency key scoped by the object's id. Business ids are new for every saga run (they derive from
 * the run's order id), so a run that re-uses an earlier run's saga id never meets that run's outcomes,
 * whether or not the caller's key tells runs apart.
 */
export function scopedKey(businessId: string, idempotencyKey: string): string {
  return `${businessId}|${idempotencyKey}`;
}
