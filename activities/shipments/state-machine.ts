import { StateMachine } from '../shared/state-machine';
import type { ShipmentStatus } from './generated/prisma/client';

export const shipmentStateMachine = new StateMachine<ShipmentStatus>('shipment', {
  SCHEDULED: ['CANCELLED'],
  CANCELLED: [],
});
