import type { Duration } from '@temporalio/common';
import type { SagaConfig } from './config';
import type { CompensationMode } from './saga-state';

/** Retry and timeout policy of one activity call made by the saga engine. */
export interface CallPolicy {
  /** One attempt. */
  startToCloseTimeout: Duration;
  /** All attempts (Temporal's schedule-to-close timeout): technical failures are retried until then. */
  deadline?: Duration;
  initialInterval: Duration;
  maximumInterval: Duration;
  backoffCoefficient: number;
  /** The attempt budget of sagas started before forward recovery; their histories still carry it. */
  maximumAttempts?: number;
}

/**
 * Everything environment-dependent a saga run needs, passed in its input so the workflow stays
 * deterministic and its history shows the settings it ran with.
 */
export interface SagaSettings {
  /** A service's task queue is this prefix and the service's name (shared/task-queue-name.ts). */
  taskQueuePrefix?: string;
  /** The queue of each service, as sagas started before queues derived from the prefix carry them. */
  taskQueues?: Record<string, string>;
  stepPolicy: CallPolicy;
  compensationPolicy: CallPolicy;
  compensationMode: CompensationMode;
  /** The forward path of the whole saga; absent in the input of sagas started before it existed. */
  sagaDeadline?: Duration;
}

export function sagaSettingsFromConfig(config: SagaConfig, taskQueuePrefix: string): SagaSettings {
  return {
    taskQueuePrefix,
    stepPolicy: {
      startToCloseTimeout: config.SAGA_STEP_TIMEOUT,
      deadline: config.SAGA_STEP_DEADLINE,
      initialInterval: config.SAGA_RETRY_INITIAL_INTERVAL,
      maximumInterval: config.SAGA_RETRY_MAX_INTERVAL,
      backoffCoefficient: 2,
    },
    compensationPolicy: {
      startToCloseTimeout: config.SAGA_STEP_TIMEOUT,
      deadline: config.SAGA_COMPENSATION_DEADLINE,
      initialInterval: config.SAGA_RETRY_INITIAL_INTERVAL,
      maximumInterval: config.SAGA_COMPENSATION_MAX_INTERVAL,
      backoffCoefficient: 2,
    },
    compensationMode: config.SAGA_COMPENSATION_MODE,
    sagaDeadline: config.SAGA_DEADLINE,
  };
}
