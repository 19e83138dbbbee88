/**
 * One entry point per process kind: `npm run worker -- <orchestrator|orders|payments|shipments>`.
 * Each kind can run alone and as several replicas.
 */
import { parseArgs } from 'node:util';
import { NativeConnection } from '@temporalio/worker';
import {
  ConfigError,
  SERVICES,
  loadConfig,
  loadServiceDatabaseConfig,
  telemetryConfigSchema,
  temporalConfigSchema,
  workerConfigSchema,
} from '../shared/config';
import { codecConfigSchema, encryptingDataConverter } from '../shared/encryption/config';
import { eventBusConfigSchema } from '../shared/event-bus';
import { startOutboxRelay, type OutboxRelay } from '../activities/shared/outbox-relay';
import { createLogger } from '../shared/logger';
import { createMetricsRegistry, startMetricsServer } from '../shared/telemetry/metrics';
import { startTracing } from '../shared/telemetry/tracing';
import { installTemporalRuntime } from '../shared/temporal-runtime';
import {
  connectOrExplain,
  describeTransport,
  temporalConnectionOptions,
} from '../shared/temporal-connection';
import { freePort } from '../shared/ports';
import type { ProcessKind } from '../shared/task-queues';
import { createOrchestratorWorker, createServiceWorker, type RunningWorker } from './workers';

const KINDS: readonly ProcessKind[] = ['orchestrator', ...SERVICES];

async function main(): Promise<void> {
  const { positionals } = parseArgs({ allowPositionals: true, strict: true });
  const kind = positionals[0] as ProcessKind | undefined;
  if (!kind || !KINDS.includes(kind) || positionals.length > 1) {
    throw new ConfigError(`usage: npm run worker -- <${KINDS.join('|')}>`);
  }
  const config = loadConfig(
    temporalConfigSchema.extend(workerConfigSchema.shape).extend(telemetryConfigSchema.shape),
  );
  const dataConverter = encryptingDataConverter(loadConfig(codecConfigSchema));
  const bus = kind === 'orchestrator' ? undefined : loadConfig(eventBusConfigSchema);
  const log = createLogger(`worker-${kind}`, config.LOG_LEVEL);
  // Tracing first: the instrumentations must be in place before the code they observe runs.
  const tracing = startTracing({ serviceName: `saga-worker-${kind}`, config });
  const sdkMetricsAddress = `127.0.0.1:${await freePort()}`;
  installTemporalRuntime(log, { sdkMetricsAddress });
  const metrics = createMetricsRegistry(`worker-${kind}`);
  const metricsServer = await startMetricsServer({
    registry: metrics,
    host: config.METRICS_HOST,
    port: config.METRICS_PORT,
    extra: async () => (await fetch(`http://${sdkMetricsAddress}/metrics`)).text(),
  });
  const connectionOptions = temporalConnectionOptions(config);
  const connection = await connectOrExplain(
    config.TEMPORAL_ADDRESS,
    () => NativeConnection.connect(connectionOptions),
    describeTransport(connectionOptions),
  );
  const telemetry = { tracing, metrics, dataConverter, log };
  let running: RunningWorker;
  let relay: OutboxRelay | undefined;
  if (kind === 'orchestrator') {
    running = await createOrchestratorWorker(connection, config, telemetry);
  } else {
    running = await createServiceWorker(
      kind,
      connection,
      { ...config, ...loadServiceDatabaseConfig(kind) },
      telemetry,
      undefined,
      (line) => log.warn(`waiting for the database: ${line}`),
    );
    // Next to the activities, on their database client: the outbox is this service's own database.
    if (running.outboxDb && bus) {
      relay = startOutboxRelay({ service: kind, db: running.outboxDb, bus, metrics, log });
    }
  }
  log.info(
    {
      taskQueue: running.worker.options.taskQueue,
      metrics: metricsServer.url,
      temporal: describeTransport(connectionOptions),
      ...(bus && { events: bus.NATS_URL }),
    },
    `${kind} worker started`,
  );
  try {
    await running.worker.run(); // returns after SIGINT/SIGTERM, once in-flight tasks are done
  } finally {
    await relay?.stop();
    await running.close();
    await connection.close();
    await metricsServer.close();
    await tracing.shutdown();
    log.info(`${kind} worker stopped`);
  }
}

main().catch((error: unknown) => {
  // One line, no stack trace: configuration and connection problems are the usual causes here.
  console.error(`worker failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
