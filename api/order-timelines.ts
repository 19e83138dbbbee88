import type { Logger } from 'pino';
import { createOrderHistoryDb, type OrderHistoryDb } from '../read-models/order-history/db';
import { readTimeline, type OrderTimeline } from '../read-models/order-history/timeline';
import { HttpProblem } from './problem';

/** Where the API reads order timelines: the order-history read model (its database, never a service's). */
export interface OrderTimelines {
  /** The order's timeline as applied so far; null while none of its events has been applied. */
  read(orderId: string): Promise<OrderTimeline | null>;
  close(): Promise<void>;
}

/** A few connections: each read is two small queries in one transaction. */
const POOL_SIZE = 4;

export function orderTimelinesFrom(databaseUrl: string, logger: Pick<Logger, 'warn'>): OrderTimelines {
  const db: OrderHistoryDb = createOrderHistoryDb(databaseUrl, POOL_SIZE);
  return {
    async read(orderId) {
      try {
        return await readTimeline(db, orderId);
      } catch (error) {
        logger.warn(
          { orderId, reason: error instanceof Error ? error.message.split('\n')[0] : String(error) },
          'order-history database unavailable',
        );
        throw new HttpProblem(
          503,
          'order-history-unavailable',
          "the order-history read model's database did not answer; retry later",
        );
      }
    },
    close: () => db.$disconnect(),
  };
}
