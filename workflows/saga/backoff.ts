import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { CallPolicy } from '../../shared/saga-settings';

/** Delay before retry number `attempt + 1`: exponential from initialInterval, capped at maximumInterval. */
export function backoffDelay(policy: CallPolicy, attempt: number): number {
  const initial = msToNumber(policy.initialInterval as Duration);
  const maximum = msToNumber(policy.maximumInterval as Duration);
  return Math.min(maximum, initial * policy.backoffCoefficient ** (attempt - 1));
}
