import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import {
  circuitBreakerConfigSchema,
  loadConfig,
  type ServiceDatabaseConfig,
  type ServiceName,
} from '../shared/config';
import { createLogger } from '../shared/logger';
import { createOrdersActivities } from '../activities/orders/activities';
import { createOrdersDb } from '../activities/orders/db';
import { createPaymentsActivities } from '../activities/payments/activities';
import { createPaymentsDb } from '../activities/payments/db';
import { SimulatedProvider } from '../activities/payments/provider-store';
import { PAYMENT_PROVIDER, guardProvider, isProviderFailure } from '../activities/payments/provider-breaker';
import { createCircuitBreaker } from '../activities/shared/circuit-breaker';
import { createShipmentsActivities } from '../activities/shipments/activities';
import { createShipmentsDb } from '../activities/shipments/db';
import { createInventoryActivities } from '../activities/inventory/activities';
import { createInventoryDb } from '../activities/inventory/db';
import type { OutboxDb } from '../activities/shared/outbox-relay';

export interface ServiceActivities {
  // Activities are registered by name; their precise types live with each service.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  activities: Record<string, (...args: any[]) => Promise<unknown>>;
  /** Fails fast (one clear line) when the service's database cannot be reached. */
  probe(): Promise<void>;
  close(): Promise<void>;
  /** The service's own database client, which its outbox relay reads the outbox with. */
  outboxDb: OutboxDb;
}

type Db = OutboxDb & { $queryRawUnsafe(query: string): Promise<unknown>; $disconnect(): Promise<void> };

function lifecycle(service: ServiceName, db: Db) {
  return {
    async probe() {
      try {
        await db.$queryRawUnsafe('SELECT 1');
      } catch (error) {
        throw new Error(`${service} database is not reachable: ${(error as Error).message.split('\n')[0]}`);
      }
    },
    close: () => db.$disconnect(),
    outboxDb: db,
  };
}

/** Where a service's own reports go: its circuit breakers' gauges and transition lines. */
export interface ServiceObservers {
  metrics?: Registry;
  log?: Logger;
}

type Connect = (config: ServiceDatabaseConfig, observers: Required<ServiceObservers>) => ServiceActivities;

/**
 * How each service's worker connects to its own database (and no other) and binds its activities to it:
 * one entry per service of SERVICES, and the type refuses a service without one. The payments service
 * also reaches the payment provider (its own store, see activities/payments/provider-store.ts), through
 * a circuit breaker of this worker process (activities/payments/provider-breaker.ts).
 */
const SERVICE_WORKERS: Record<ServiceName, Connect> = {
  orders: ({ databaseUrl, poolSize }) => {
    const db = createOrdersDb(databaseUrl, poolSize);
    return { activities: createOrdersActivities(db), ...lifecycle('orders', db) };
  },
  payments: ({ databaseUrl, poolSize, providerDatabaseUrl, providerCircuitBreaker }, observers) => {
    if (!providerDatabaseUrl) throw new Error('the payments worker needs the provider database URL');
    const db = createPaymentsDb(databaseUrl, poolSize);
    const provider = new SimulatedProvider(providerDatabaseUrl, Math.min(poolSize, 5), (error) =>
      observers.log.warn({ err: error.message }, 'payment provider store: an idle connection was lost'),
    );
    const breaker = createCircuitBreaker({
      service: 'payments',
      dependency: PAYMENT_PROVIDER,
      isFailure: isProviderFailure,
      config: providerCircuitBreaker ?? loadConfig(circuitBreakerConfigSchema, {}),
      ...observers,
    });
    const own = lifecycle('payments', db);
    return {
      activities: createPaymentsActivities(db, guardProvider(provider, breaker)),
      outboxDb: db,
      async probe() {
        await own.probe();
        try {
          await provider.probe();
        } catch (error) {
          throw new Error(`payment provider store is not reachable: ${(error as Error).message}`);
        }
      },
      async close() {
        breaker.dispose();
        await Promise.all([own.close(), provider.close()]);
      },
    };
  },
  shipments: ({ databaseUrl, poolSize }) => {
    const db = createShipmentsDb(databaseUrl, poolSize);
    return { activities: createShipmentsActivities(db), ...lifecycle('shipments', db) };
  },
  inventory: ({ databaseUrl, poolSize }) => {
    const db = createInventoryDb(databaseUrl, poolSize);
    return { activities: createInventoryActivities(db), ...lifecycle('inventory', db) };
  },
};

/**
 * Binds a service's activities to what it connects to. Without observers (tests that drive activities
 * directly), breaker metrics go to a registry of their own and transitions to a logger of the service.
 */
export function connectServiceActivities(
  service: ServiceName,
  config: ServiceDatabaseConfig,
  observers: ServiceObservers = {},
): ServiceActivities {
  return SERVICE_WORKERS[service](config, {
    metrics: observers.metrics ?? new Registry(),
    log: observers.log ?? createLogger(`worker-${service}`),
  });
}
