/**
 * `npm run check:invariants`: checks every saga ever accepted (Temporal visibility) against the three
 * service databases. Exits 1 on any violation, naming the saga and the rule, and on any saga compensated
 * although its input would have completed and no user cancelled it (COMPENSATED_WOULD_HAVE_COMPLETED). Configuration as for the
 * workers (TEMPORAL_ADDRESS, *_DATABASE_URL, NATS_URL and EVENTS_STREAM for the events stream);
 * `-- --narrow "<visibility filter>"` narrows the sagas, `-- --skip-events` leaves the stream out.
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { createOrdersDb } from '../../activities/orders/db';
import { createPaymentsDb } from '../../activities/payments/db';
import { createShipmentsDb } from '../../activities/shipments/db';
import { createInventoryDb } from '../../activities/inventory/db';
import { databaseConfigSchema, loadConfig, temporalConfigSchema } from '../../shared/config';
import { dataConverterFromEnv } from '../../shared/encryption/config';
import {
  connectOrExplain,
  describeTransport,
  temporalConnectionOptions,
} from '../../shared/temporal-connection';
import { connectEventBus, eventBusConfigSchema } from '../../shared/event-bus';
import { checkInvariants } from './check';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      narrow: { type: 'string' },
      'stale-after-seconds': { type: 'string' },
      'skip-events': { type: 'boolean', default: false },
    },
  });
  const config = loadConfig(temporalConfigSchema.extend(databaseConfigSchema.shape));
  const connectionOptions = temporalConnectionOptions(config);
  const connection = await connectOrExplain(
    config.TEMPORAL_ADDRESS,
    () => Connection.connect(connectionOptions),
    describeTransport(connectionOptions),
  );
  // The events stream is part of the check unless asked not to (a stack without a broker).
  const eventBusConfig = values['skip-events'] ? undefined : loadConfig(eventBusConfigSchema);
  const nc = eventBusConfig ? await connectEventBus(eventBusConfig, 'check-invariants') : undefined;
  const sources = {
    ...(nc && eventBusConfig ? { eventBus: { nc, config: eventBusConfig } } : {}),
    client: new Client({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      // Saga states come back through queries, encrypted like every payload.
      dataConverter: dataConverterFromEnv(),
    }),
    orders: createOrdersDb(config.ORDERS_DATABASE_URL, 2),
    payments: createPaymentsDb(config.PAYMENTS_DATABASE_URL, 2),
    shipments: createShipmentsDb(config.SHIPMENTS_DATABASE_URL, 2),
    inventory: createInventoryDb(config.INVENTORY_DATABASE_URL, 2),
  };
  try {
    const report = await checkInvariants(sources, {
      narrow: values.narrow,
      staleAfterMs: values['stale-after-seconds'] ? Number(values['stale-after-seconds']) * 1000 : undefined,
    });
    console.log(`checked ${report.sagasChecked} sagas: ${JSON.stringify(report.byStatus)}`);
    console.log(`checked ${report.refundsChecked} refunds: ${JSON.stringify(report.refundsByStatus)}`);
    console.log(
      report.eventsChecked === null
        ? 'events stream not checked (--skip-events)'
        : `checked ${report.eventsChecked} outbox events against the events stream ${eventBusConfig?.EVENTS_STREAM}`,
    );
    for (const v of report.violations) console.log(`VIOLATION ${v.sagaId} ${v.rule}: ${v.detail}`);
    for (const f of report.compensatedWouldHaveCompleted) {
      console.log(`COMPENSATED_WOULD_HAVE_COMPLETED ${f.sagaId}: ${f.detail}`);
    }
    for (const f of report.undetermined) console.log(`UNDETERMINED ${f.sagaId}: ${f.detail}`);
    console.log(report.violations.length ? `${report.violations.length} violations` : 'no violations');
    const wrongly = report.compensatedWouldHaveCompleted.length;
    console.log(
      `${wrongly} sagas compensated that would have completed without the faults` +
        (report.undetermined.length ? ` (${report.undetermined.length} undetermined)` : ''),
    );
    return report.violations.length || wrongly ? 1 : 0;
  } finally {
    await Promise.all([
      sources.orders.$disconnect(),
      sources.payments.$disconnect(),
      sources.shipments.$disconnect(),
      sources.inventory.$disconnect(),
    ]);
    await connection.close();
    await nc?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`check:invariants failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
