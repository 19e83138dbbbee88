import { ActivityFailure, ApplicationFailure, TimeoutFailure, isCancellation } from '@temporalio/workflow';

/** A business "no" (declined, not serviceable): retrying cannot help, so compensate at once. */
export function isBusinessFailure(error: unknown): boolean {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure && cause.nonRetryable === true;
}

/** One line for the saga's state: the error type and message, never a stack trace. */
export function describeFailure(error: unknown): string {
  if (isCancellation(error)) return 'cancelled';
  // Temporal stopped retrying because the next attempt would start after the call's deadline.
  if (
    error instanceof ActivityFailure &&
    error.retryState === 'TIMEOUT' &&
    error.cause &&
    !(error.cause instanceof TimeoutFailure)
  ) {
    return `deadline passed while retrying; last error: ${describeFailure(error.cause)}`;
  }
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
  if (cause instanceof TimeoutFailure) {
    const kind = timeoutName(cause);
    if (kind !== 'schedule_to_close') return `timeout (${kind})`;
    // Temporal retried until the call's deadline; what the last attempt said is what an operator needs.
    const last = cause.cause ? `; last error: ${describeFailure(cause.cause)}` : '';
    return `deadline passed while retrying${last}`;
  }
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

function timeoutName(failure: TimeoutFailure): string {
  // TimeoutType enum values are like TIMEOUT_TYPE_START_TO_CLOSE; keep the meaningful part.
  return String(failure.timeoutType ?? 'unknown')
    .replace(/^TIMEOUT_TYPE_/, '')
    .toLowerCase();
}
