/**
 * The simulated payment provider's decisions, pure: Stripe-like test tokens, so every payment path can be
 * exercised without a real provider (see the README's test payment tokens), and the charge transitions of
 * capture and release. Its store (charges, idempotency keys, outage switch) is provider-store.ts.
 */
export type ProviderDecision =
  | { kind: 'approve' }
  | { kind: 'decline'; reason: string }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'hang' };

/** A charge's status at the provider. */
export type ChargeStatus = 'authorized' | 'declined' | 'captured' | 'voided' | 'refunded';

const APPROVING_TOKENS = new Set(['tok_visa', 'tok_mastercard', 'tok_amex', 'tok_visa_debit']);
const DECLINES: Record<string, string> = {
  tok_chargeDeclined: 'card declined',
  tok_chargeDeclinedInsufficientFunds: 'insufficient funds',
  tok_chargeDeclinedExpiredCard: 'expired card',
};
const DEFAULT_TRANSIENT_FAILURES = 2;

/**
 * Decides an authorization. `call` is how many times the provider has been called with this request's
 * idempotency key, this call included (1 for the first), as counted by the provider's own store: a
 * `tok_processingError_N` fails the first N calls of one key, whoever makes them.
 */
export function decideAuthorization(token: string, call: number): ProviderDecision {
  if (APPROVING_TOKENS.has(token)) return { kind: 'approve' };
  const decline = DECLINES[token];
  if (decline) return { kind: 'decline', reason: decline };
  const transient = /^tok_processingError(?:_(\d{1,2}))?$/.exec(token);
  if (transient) {
    const failures = transient[1] === undefined ? DEFAULT_TRANSIENT_FAILURES : Number(transient[1]);
    return call <= failures
      ? { kind: 'unavailable', reason: 'provider processing error' }
      : { kind: 'approve' };
  }
  if (token === 'tok_timeout') return { kind: 'hang' };
  return { kind: 'decline', reason: 'unknown payment token' };
}

/** What a capture does to a charge: captures an authorization; a captured charge stays captured. */
export function captureTransition(status: ChargeStatus): ChargeStatus | 'refused' {
  if (status === 'authorized' || status === 'captured') return 'captured';
  return 'refused';
}

/** What a release does to a charge: voids an authorization, refunds a capture, leaves the rest alone. */
export function releaseTransition(status: ChargeStatus): ChargeStatus {
  if (status === 'authorized') return 'voided';
  if (status === 'captured') return 'refunded';
  return status;
}

/** What a refund does to a charge: refunds a capture (again: still refunded); nothing else is refundable. */
export function refundTransition(status: ChargeStatus): ChargeStatus | 'refused' {
  if (status === 'captured' || status === 'refunded') return 'refunded';
  return 'refused';
}

/** Whether the provider-wide outage switch is on at `now`. */
export function isUnavailable(unavailableUntil: Date | null | undefined, now: Date): boolean {
  return unavailableUntil !== null && unavailableUntil !== undefined && unavailableUntil > now;
}

/**
 * The idempotency keys the payments service sends the provider, one per operation on one payment: the
 * authorization's is the payment id itself (one charge per payment, however often it is retried), and
 * capture, release and refund have their own. `lateVoid` voids a charge whose authorization arrived after the
 * saga had already released the payment (the payments tombstone then refuses it).
 */
export function providerKeys(paymentId: string) {
  return {
    authorize: paymentId,
    capture: `${paymentId}/capture`,
    release: `${paymentId}/release`,
    refund: `${paymentId}/refund`,
    lateVoid: `${paymentId}/void-late`,
  } as const;
}
