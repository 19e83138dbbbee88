import { isGrpcServiceError } from '@temporalio/client';

/**
 * The gRPC status code behind an error of the Temporal client, which wraps the gRPC error it got
 * (ServiceError, WorkflowUpdateFailedError, ...) in one or more causes.
 */
export function grpcCodeOf(error: unknown): number | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (isGrpcServiceError(current)) return current.code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
