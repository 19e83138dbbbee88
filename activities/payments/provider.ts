/**
 * A simulated payment provider with Stripe-like test tokens, so every payment path can be exercised
 * without a real provider. See the README's "Test payment tokens" table.
 */
export type ProviderDecision =
  | { kind: 'approve' }
  | { kind: 'decline'; reason: string }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'hang' };

const APPROVING_TOKENS = new Set(['tok_visa', 'tok_mastercard', 'tok_amex', 'tok_visa_debit']);
const DECLINES: Record<string, string> = {
  tok_chargeDeclined: 'card declined',
  tok_chargeDeclinedInsufficientFunds: 'insufficient funds',
  tok_chargeDeclinedExpiredCard: 'expired card',
};
const DEFAULT_TRANSIENT_FAILURES = 2;

/** Decides an authorization; `attempt` is the engine's attempt number (1 for the first try). */
export function decideAuthorization(token: string, attempt: number): ProviderDecision {
  if (APPROVING_TOKENS.has(token)) return { kind: 'approve' };
  const decline = DECLINES[token];
  if (decline) return { kind: 'decline', reason: decline };
  const transient = /^tok_processingError(?:_(\d{1,2}))?$/.exec(token);
  if (transient) {
    const failures = transient[1] === undefined ? DEFAULT_TRANSIENT_FAILURES : Number(transient[1]);
    return attempt <= failures
      ? { kind: 'unavailable', reason: 'provider processing error' }
      : { kind: 'approve' };
  }
  if (token === 'tok_timeout') return { kind: 'hang' };
  return { kind: 'decline', reason: 'unknown payment token' };
}
