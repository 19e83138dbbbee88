import { defineService } from '../../workflows/saga/definition';
import type { InventoryActivities } from './activities';

/** The inventory service as sagas call it (workflow-safe: the activities are imported as a type only). */
export const inventory = defineService<InventoryActivities>()('inventory');
