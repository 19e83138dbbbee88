import { defineService } from '../../workflows/saga/definition';
import type { PaymentsActivities } from './activities';

/** The payments service as sagas call it (workflow-safe: the activities are imported as a type only). */
export const payments = defineService<PaymentsActivities>()('payments');
