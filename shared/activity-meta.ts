/**
 * Passed by the saga engine as the last argument of every activity. The idempotency key is unique per
 * saga and step (and compensation), so each service's database can refuse to apply an effect twice.
 */
export interface ActivityMeta {
  sagaId: string;
  idempotencyKey: string;
  /** 1 for the first try; the engine retries, so the activity sees its own attempt number here. */
  attempt: number;
  /** Whether the call does a step or undoes one (metrics label it); absent in histories before it existed. */
  role?: 'step' | 'compensation';
}

/** Error types that mean "the business said no": never retried, they go straight to compensation. */
export const BUSINESS_ERROR_TYPES = [
  'PaymentDeclined',
  'AddressNotServiceable',
  'InvalidOrder',
  'InvalidTransition',
] as const;
export type BusinessErrorType = (typeof BUSINESS_ERROR_TYPES)[number];
