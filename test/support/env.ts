/** Names of the variables global-setup hands to the test files (Jest workers inherit process.env). */
export const TEST_ENV = {
  temporalAddress: 'TEMPORAL_ADDRESS',
  temporalUiUrl: 'TEMPORAL_UI_URL',
  workflowBundle: 'WORKFLOW_BUNDLE_PATH',
  ordersDb: 'ORDERS_DATABASE_URL',
  paymentsDb: 'PAYMENTS_DATABASE_URL',
  shipmentsDb: 'SHIPMENTS_DATABASE_URL',
  inventoryDb: 'INVENTORY_DATABASE_URL',
  providerDb: 'PROVIDER_DATABASE_URL',
  orderHistoryDb: 'ORDER_HISTORY_DATABASE_URL',
  natsUrl: 'NATS_URL',
  eventsStream: 'EVENTS_STREAM',
} as const;

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run integration tests through jest (global-setup sets it)`);
  return value;
}
