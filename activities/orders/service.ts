import { defineService } from '../../workflows/saga/definition';
import type { OrdersActivities } from './activities';

/** The orders service as sagas call it (workflow-safe: the activities are imported as a type only). */
export const orders = defineService<OrdersActivities>()('orders');
