import { StateMachine } from '../shared/state-machine';
import type { PaymentStatus } from './generated/prisma/client';

export const paymentStateMachine = new StateMachine<PaymentStatus>('payment', {
  AUTHORIZED: ['CAPTURED', 'VOIDED'],
  CAPTURED: ['REFUNDED'],
  VOIDED: [],
  REFUNDED: [],
  DECLINED: [],
});
