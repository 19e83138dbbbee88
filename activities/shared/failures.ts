import { ApplicationFailure } from '@temporalio/activity';
import type { BusinessErrorType } from '../../shared/activity-meta';

/** A business "no": the saga engine does not retry it and compensates at once. */
export function businessFailure(type: BusinessErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** A failure worth retrying (a dependency is down for a while). */
export function transientFailure(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: false });
}
