import { ApplicationFailure, type RetryPolicy } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Temporal's activity retries back off exponentially but without jitter, so calls that failed together
 * (a database restart) would all come back together. A failed attempt therefore tells Temporal its own
 * next delay: the capped exponential interval of the retry policy with "equal jitter" (half fixed, half
 * random), so a herd spreads out while no retry comes sooner than half the interval.
 */
export function jitteredRetryDelayMs(
  policy: RetryPolicy | undefined,
  attempt: number,
  random = Math.random,
): number {
  const initial = msToNumber(policy?.initialInterval ?? '1s');
  const maximum = msToNumber(policy?.maximumInterval ?? initial * 100);
  const interval = Math.min(maximum, initial * (policy?.backoffCoefficient ?? 2) ** Math.max(0, attempt - 1));
  return Math.round(interval / 2 + random() * (interval / 2));
}

/** Adds the jittered next delay to every retryable failure of an activity; business failures pass as they are. */
export function retryJitterInterceptor(): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (error) {
          if (error instanceof ApplicationFailure && (error.nonRetryable || error.nextRetryDelay))
            throw error;
          if (!(error instanceof Error)) throw error;
          const application = error instanceof ApplicationFailure ? error : undefined;
          throw ApplicationFailure.create({
            type: application?.type ?? error.name,
            message: error.message,
            details: application?.details ?? undefined,
            cause: application?.cause,
            nextRetryDelay: jitteredRetryDelayMs(ctx.info.retryPolicy, ctx.info.attempt),
          });
        }
      },
    },
  });
}
