import { defineService } from '../../workflows/saga/definition';
import type { ShipmentsActivities } from './activities';

/** The shipments service as sagas call it (workflow-safe: the activities are imported as a type only). */
export const shipments = defineService<ShipmentsActivities>()('shipments');
