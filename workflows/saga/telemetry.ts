import { proxySinks, type Sinks } from '@temporalio/workflow';
import type { SagaStatus } from '../../shared/saga-state';

/**
 * What a saga reports to its worker for metrics. Sinks are not called while a workflow replays, so a
 * saga that a restarted worker replays is not counted twice.
 */
export interface SagaTelemetrySinks extends Sinks {
  sagaTelemetry: {
    started(saga: string): void;
    statusChanged(saga: string, status: SagaStatus): void;
  };
}

export const { sagaTelemetry } = proxySinks<SagaTelemetrySinks>();
