import type { Duration } from '@temporalio/common';
import type { SagaConfig } from './config';
import type { CompensationMode } from './saga-state';
import type { TaskQueues } from './task-queues';

/** Retry and timeout policy of one activity call made by the saga engine. */
export interface CallPolicy {
  startToCloseTimeout: Duration;
  maximumAttempts: number;
  initialInterval: Duration;
  maximumInterval: Duration;
  backoffCoefficient: number;
}

/**
 * Everything environment-dependent a saga run needs, passed in its input so the workflow stays
 * deterministic and its history shows the settings it ran with.
 */
export interface SagaSettings {
  taskQueues: Omit<TaskQueues, 'orchestrator'>;
  stepPolicy: CallPolicy;
  compensationPolicy: CallPolicy;
  compensationMode: CompensationMode;
}

export function sagaSettingsFromConfig(config: SagaConfig, queues: TaskQueues): SagaSettings {
  const base = {
    startToCloseTimeout: config.SAGA_STEP_TIMEOUT,
    initialInterval: config.SAGA_RETRY_INITIAL_INTERVAL,
    maximumInterval: config.SAGA_RETRY_MAX_INTERVAL,
    backoffCoefficient: 2,
  };
  return {
    taskQueues: { orders: queues.orders, payments: queues.payments, shipments: queues.shipments },
    stepPolicy: { ...base, maximumAttempts: config.SAGA_STEP_MAX_ATTEMPTS },
    compensationPolicy: { ...base, maximumAttempts: config.SAGA_COMPENSATION_MAX_ATTEMPTS },
    compensationMode: config.SAGA_COMPENSATION_MODE,
  };
}
