import { proxyActivities } from '@temporalio/workflow';
import type { InventoryActivities, StockLevel } from '../activities/inventory/activities';
import { taskQueueOfService } from '../shared/task-queue-name';

export interface ReadStockInput {
  skus: string[];
  taskQueuePrefix: string;
}

/**
 * Stock levels for the API's GET /stock/{sku}: the inventory's database is reached only through its own
 * activities, so a read is one short workflow. Not a saga: it changes nothing, and a read that cannot be
 * answered within seconds fails rather than waits (the API answers 503).
 */
export async function readStock({ skus, taskQueuePrefix }: ReadStockInput): Promise<StockLevel[]> {
  const { stockLevels } = proxyActivities<InventoryActivities>({
    taskQueue: taskQueueOfService(taskQueuePrefix, 'inventory'),
    scheduleToCloseTimeout: '5s',
    startToCloseTimeout: '2s',
  });
  return stockLevels({ skus });
}
