/**
 * Passed by the saga engine as the last argument of every activity. The idempotency key is unique per
 * saga run and step (and compensation), so each service's database can refuse to apply an effect twice,
 * and a saga id used again after Temporal's retention never meets another run's ledger.
 */
export interface ActivityMeta {
  sagaId: string;
  idempotencyKey: string;
  /**
   * Only in sagas started before forward recovery, whose engine retried by itself. Temporal now retries,
   * and an activity reads its attempt from `Context.current().info.attempt`.
   */
  attempt?: number;
  /** Whether the call does a step or undoes one (metrics label it); absent in histories before it existed. */
  role?: 'step' | 'compensation';
}

/** Error types that mean "the business said no": never retried, they go straight to compensation. */
export const BUSINESS_ERROR_TYPES = [
  'PaymentDeclined',
  'AddressNotServiceable',
  'InvalidOrder',
  'InvalidTransition',
  'OrderNotRefundable',
  'PaymentNotRefundable',
  'OutOfStock',
] as const;
export type BusinessErrorType = (typeof BUSINESS_ERROR_TYPES)[number];
