import type { SagaDefinition } from './saga/definition';
import { ORDER_SAGA_VERSIONS } from './order-saga';
import { REFUND_SAGA_VERSIONS } from './refund-saga';

/**
 * Every saga workflow the orchestrator registers, with its released definition versions. Loaded by the
 * orchestrator at start (outside the workflow sandbox), so a definition that breaks a rule, or calls a
 * service this deployment does not run, stops the worker from starting instead of failing a saga mid-way.
 */
export const SAGA_CATALOG: Record<string, readonly SagaDefinition<never, unknown, string>[]> = {
  orderSaga: ORDER_SAGA_VERSIONS as unknown as readonly SagaDefinition<never, unknown, string>[],
  refundSaga: REFUND_SAGA_VERSIONS as unknown as readonly SagaDefinition<never, unknown, string>[],
};

/** Why this deployment cannot run the catalogue's sagas (services missing), or nothing. */
export function catalogProblems(deployedServices: readonly string[]): string[] {
  return Object.entries(SAGA_CATALOG).flatMap(([workflow, versions]) =>
    versions.flatMap((definition) =>
      definition.services
        .filter((service) => !deployedServices.includes(service.name))
        .map(
          (service) =>
            `${workflow} (saga ${definition.name} v${definition.version}) calls service ${service.name}, which this deployment does not register`,
        ),
    ),
  );
}
