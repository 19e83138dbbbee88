import type { ServiceName } from '../shared/config';
import { createOrdersActivities } from '../activities/orders/activities';
import { createOrdersDb } from '../activities/orders/db';
import { createPaymentsActivities } from '../activities/payments/activities';
import { createPaymentsDb } from '../activities/payments/db';
import { createShipmentsActivities } from '../activities/shipments/activities';
import { createShipmentsDb } from '../activities/shipments/db';

export interface ServiceActivities {
  // Activities are registered by name; their precise types live with each service.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  activities: Record<string, (...args: any[]) => Promise<unknown>>;
  close(): Promise<void>;
}

/** Connects to one service's own database (and no other) and binds its activities to it. */
export function connectServiceActivities(
  service: ServiceName,
  databaseUrl: string,
  poolSize: number,
): ServiceActivities {
  switch (service) {
    case 'orders': {
      const db = createOrdersDb(databaseUrl, poolSize);
      return { activities: createOrdersActivities(db), close: () => db.$disconnect() };
    }
    case 'payments': {
      const db = createPaymentsDb(databaseUrl, poolSize);
      return { activities: createPaymentsActivities(db), close: () => db.$disconnect() };
    }
    case 'shipments': {
      const db = createShipmentsDb(databaseUrl, poolSize);
      return { activities: createShipmentsActivities(db), close: () => db.$disconnect() };
    }
  }
}
