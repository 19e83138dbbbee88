import { StateMachine } from '../shared/state-machine';
import type { OrderStatus } from './generated/prisma/client';

/**
 * APPROVED -> CANCELLED exists only for compensation, when a later step's outcome was uncertain.
 * REFUND_REQUESTED -> APPROVED is the refund saga's compensation (its pivot, the payment refund, did not
 * happen). REFUND_REQUESTED -> CANCELLED lets an order saga that compensates after its approval (a cancel
 * while approveOrder was in flight) cancel an order a refund raced it to: the money is returned either way.
 */
export const orderStateMachine = new StateMachine<OrderStatus>('order', {
  PENDING: ['APPROVED', 'CANCELLED'],
  APPROVED: ['CANCELLED', 'REFUND_REQUESTED'],
  CANCELLED: [],
  REFUND_REQUESTED: ['APPROVED', 'REFUNDED', 'CANCELLED'],
  REFUNDED: [],
});
