import { CancelledFailure } from '@temporalio/common';
import type { CircuitBreaker } from '../shared/circuit-breaker';
import { ProviderError, type PaymentProvider } from './provider-store';

/** The payment provider, as the circuit breaker's metric and log lines name it. */
export const PAYMENT_PROVIDER = 'payment-provider';

/**
 * Which failures of a provider call say that the provider is unwell: a 5xx answer or a timeout, or a
 * provider that could not be reached at all (any error that is not one of its answers). A 4xx answer (a
 * reused idempotency key, an unknown charge) is the caller's mistake, and a cancelled activity (a saga
 * cancelled, a worker shutting down) says nothing about the provider: neither counts.
 */
export function isProviderFailure(error: Error): boolean {
  if (error instanceof ProviderError) return error.retryable;
  return !(error instanceof CancelledFailure);
}

/**
 * The provider's operations, each through the breaker, named by its idempotency key (a payment whose
 * calls keep failing counts once). A call the open breaker refuses is never sent, so it has no effect at
 * the provider: its retry carries the same idempotency key as any other retry.
 */
export function guardProvider(provider: PaymentProvider, breaker: CircuitBreaker): PaymentProvider {
  return {
    authorize: (request, options) =>
      breaker.run(() => provider.authorize(request, options), request.idempotencyKey),
    capture: (request) => breaker.run(() => provider.capture(request), request.idempotencyKey),
    release: (request) => breaker.run(() => provider.release(request), request.idempotencyKey),
    refund: (request) => breaker.run(() => provider.refund(request), request.idempotencyKey),
  };
}
