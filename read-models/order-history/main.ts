/**
 * The order-history read model's consumer: `npm run order-history`. Builds each order's timeline in its
 * own database (ORDER_HISTORY_DATABASE_URL) from the domain events on JetStream (NATS_URL, EVENTS_STREAM),
 * through the durable consumer `order-history`. It waits out a broker or a database that is down, and a
 * restart resumes where the durable consumer's acks left off.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  loadConfig,
  orderHistoryDatabaseConfigSchema,
  telemetryConfigSchema,
  temporalConfigSchema,
} from '../../shared/config';
import { connectEventBus, eventBusConfigSchema, type EventBusConfig } from '../../shared/event-bus';
import { createLogger } from '../../shared/logger';
import { createMetricsRegistry, startMetricsServer } from '../../shared/telemetry/metrics';
import { ORDER_HISTORY_CONSUMER } from './apply';
import { startOrderHistoryConsumer } from './consumer';
import { createOrderHistoryDb } from './db';
import { orderHistoryMetrics } from './metrics';

/** One transaction at a time: a small pool is plenty. */
const POOL_SIZE = 2;

/**
 * The first connection, retried: a broker that is down when this starts (or restarts) delays it instead
 * of crashing it into the supervisor's crash-loop limit. Once connected, connectEventBus reconnects forever.
 */
async function connectWhenUp(config: EventBusConfig, logger: Logger): Promise<NatsConnection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectEventBus(config, 'order-history');
    } catch (error) {
      if (attempt === 1 || attempt % 30 === 0) {
        logger.warn(
          { nats: config.NATS_URL, reason: error instanceof Error ? error.message : String(error) },
          'event bus unreachable; retrying every 2 s',
        );
      }
      await sleep(2000);
    }
  }
}

async function main(): Promise<void> {
  const config = loadConfig(
    eventBusConfigSchema
      .extend(orderHistoryDatabaseConfigSchema.shape)
      .extend(telemetryConfigSchema.shape)
      .extend({ LOG_LEVEL: temporalConfigSchema.shape.LOG_LEVEL }),
  );
  const logger = createLogger('order-history', config.LOG_LEVEL);
  const db = createOrderHistoryDb(config.ORDER_HISTORY_DATABASE_URL, POOL_SIZE);
  const nc = await connectWhenUp(config, logger);
  const jsm = await jetstreamManager(nc);
  const registry = createMetricsRegistry('order-history');
  const metrics = orderHistoryMetrics(registry, async () => {
    const info = await jsm.consumers.info(config.EVENTS_STREAM, ORDER_HISTORY_CONSUMER);
    return info.num_pending + info.num_ack_pending;
  });
  const metricsServer = await startMetricsServer({
    registry,
    host: config.METRICS_HOST,
    port: config.METRICS_PORT,
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        logger.warn({ server: status.server }, `event bus ${status.type}ed`);
      }
    }
  })();
  const consumer = startOrderHistoryConsumer({ nc, config, db, logger, metrics });
  logger.info(
    { stream: config.EVENTS_STREAM, consumer: ORDER_HISTORY_CONSUMER, metrics: metricsServer.url },
    'order-history consumer started',
  );

  const stop = async () => {
    await consumer.stop();
    await nc.drain().catch(() => undefined);
    await db.$disconnect();
    await metricsServer.close();
    logger.info('order-history consumer stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`order-history failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
