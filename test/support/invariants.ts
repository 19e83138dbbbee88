import { checkInvariants, type InvariantReport } from '../../tools/invariants/check';
import type { Sources } from '../../tools/invariants/facts';
import type { Stack } from './stack';

/**
 * Runs the invariant checker over one stack's sagas until `ready` holds (visibility is eventually
 * consistent, so the sagas just ended may not be listed yet), then returns the report.
 */
export async function checkStackUntil(
  stack: Stack,
  dbs: Omit<Sources, 'client'>,
  ready: (report: InvariantReport) => boolean,
): Promise<InvariantReport> {
  const sources = {
    client: stack.client,
    orders: dbs.orders,
    payments: dbs.payments,
    shipments: dbs.shipments,
    inventory: dbs.inventory,
  };
  const narrow = `TaskQueue = '${stack.queues.orchestrator}'`;
  let report = await checkInvariants(sources, { narrow });
  for (let i = 0; i < 50 && !ready(report); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    report = await checkInvariants(sources, { narrow });
  }
  return report;
}
