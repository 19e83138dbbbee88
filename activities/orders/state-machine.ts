import { StateMachine } from '../shared/state-machine';
import type { OrderStatus } from './generated/prisma/client';

/** APPROVED -> CANCELLED exists only for compensation, when a later step's outcome was uncertain. */
export const orderStateMachine = new StateMachine<OrderStatus>('order', {
  PENDING: ['APPROVED', 'CANCELLED'],
  APPROVED: ['CANCELLED'],
  CANCELLED: [],
});
