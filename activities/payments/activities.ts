import { Context } from '@temporalio/activity';
import type { ActivityMeta } from '../../shared/activity-meta';
import { businessFailure, transientFailure } from '../shared/failures';
import { applyOnce } from '../shared/idempotency';
import { paymentsLedger, type PaymentsDb, type PaymentsTx } from './db';
import { decideAuthorization } from './provider';
import { paymentStateMachine } from './state-machine';
import type { PaymentStatus } from './generated/prisma/client';

export interface AuthorizePaymentInput {
  orderId: string;
  amount: number;
  currency: string;
  paymentToken: string;
}

export interface PaymentResult {
  paymentId: string;
  status: PaymentStatus;
}

/** One payment per saga; its id is derived from the saga so every retry addresses the same payment. */
export function paymentIdOf(sagaId: string): string {
  return `pay_${sagaId}`;
}

/** The payments service's activities, bound to its own database only. */
export function createPaymentsActivities(db: PaymentsDb) {
  const transaction = <T>(work: (tx: PaymentsTx) => Promise<T>) => db.$transaction(work);

  async function transition(paymentId: string, to: PaymentStatus, tx: PaymentsTx) {
    const { count } = await tx.payment.updateMany({
      where: { id: paymentId, status: { in: paymentStateMachine.sourcesOf(to) } },
      data: { status: to },
    });
    return count === 1;
  }

  /** Fault injection for tests and chaos runs: the provider refuses this operation for this saga. */
  async function injectedFault(sagaId: string, operation: string): Promise<string | undefined> {
    const fault = await db.providerFault.findUnique({ where: { sagaId_operation: { sagaId, operation } } });
    return fault?.message;
  }

  return {
    async authorizePayment(input: AuthorizePaymentInput, meta: ActivityMeta): Promise<PaymentResult> {
      const paymentId = paymentIdOf(meta.sagaId);
      const decision = decideAuthorization(
        input.paymentToken,
        meta.attempt ?? Context.current().info.attempt,
      );
      if (decision.kind === 'unavailable') throw transientFailure('ProviderUnavailable', decision.reason);
      if (decision.kind === 'hang') {
        // Outlive the activity's timeout without effect, as a provider that never answers would.
        await Context.current().sleep(Context.current().info.startToCloseTimeoutMs + 1000);
        throw transientFailure('ProviderTimeout', 'provider did not answer');
      }
      const outcome = await applyOnce(
        transaction,
        paymentsLedger(meta.sagaId, paymentId, 'authorize'),
        meta.idempotencyKey,
        async (tx) => {
          const existing = await tx.payment.findUnique({ where: { id: paymentId } });
          if (existing) return { status: existing.status, amount: 0, effect: 'none', reason: null };
          const declined = decision.kind === 'decline';
          await tx.payment.create({
            data: {
              id: paymentId,
              sagaId: meta.sagaId,
              orderId: input.orderId,
              amount: input.amount,
              currency: input.currency,
              status: declined ? 'DECLINED' : 'AUTHORIZED',
              declineReason: declined ? decision.reason : null,
              providerRef: declined ? null : `auth_${meta.sagaId}`,
            },
          });
          return declined
            ? { status: 'DECLINED', amount: 0, effect: 'declined', reason: decision.reason }
            : { status: 'AUTHORIZED', amount: input.amount, effect: 'authorized', reason: null };
        },
      );
      if (outcome.status === 'DECLINED') {
        throw businessFailure('PaymentDeclined', `payment declined: ${outcome.reason ?? 'declined'}`);
      }
      if (outcome.status !== 'AUTHORIZED' && outcome.status !== 'CAPTURED') {
        throw businessFailure('InvalidTransition', `payment ${paymentId} is already ${outcome.status}`);
      }
      return { paymentId, status: outcome.status as PaymentStatus };
    },

    async capturePayment(_input: { orderId: string }, meta: ActivityMeta): Promise<PaymentResult> {
      const paymentId = paymentIdOf(meta.sagaId);
      const outcome = await applyOnce(
        transaction,
        paymentsLedger(meta.sagaId, paymentId, 'capture'),
        meta.idempotencyKey,
        async (tx) => {
          const payment = await tx.payment.findUnique({ where: { id: paymentId } });
          if (payment && (await transition(paymentId, 'CAPTURED', tx))) {
            return { status: 'CAPTURED', amount: payment.amount, effect: 'captured' };
          }
          return { status: payment?.status ?? 'MISSING', amount: 0, effect: 'none' };
        },
      );
      if (outcome.status !== 'CAPTURED') {
        throw businessFailure(
          'InvalidTransition',
          `payment ${paymentId} cannot be captured from ${outcome.status}`,
        );
      }
      return { paymentId, status: 'CAPTURED' };
    },

    /**
     * Compensation of authorize (and of capture): voids an authorization, refunds a capture, and leaves a
     * voided tombstone when there is nothing yet, so a late authorization cannot take effect.
     */
    async releasePayment(
      input: { orderId: string; currency: string },
      meta: ActivityMeta,
    ): Promise<PaymentResult> {
      const paymentId = paymentIdOf(meta.sagaId);
      const fault = await injectedFault(meta.sagaId, 'release');
      if (fault) throw transientFailure('ProviderUnavailable', fault);
      const outcome = await applyOnce(
        transaction,
        paymentsLedger(meta.sagaId, paymentId, 'release'),
        meta.idempotencyKey,
        async (tx) => {
          const payment = await tx.payment.findUnique({ where: { id: paymentId } });
          if (!payment) {
            await tx.payment.create({
              data: {
                id: paymentId,
                sagaId: meta.sagaId,
                orderId: input.orderId,
                amount: 0,
                currency: input.currency,
                status: 'VOIDED',
                voidedBeforeAuthorize: true,
              },
            });
            return { status: 'VOIDED', amount: 0, effect: 'tombstone' };
          }
          if (await transition(paymentId, 'VOIDED', tx))
            return { status: 'VOIDED', amount: payment.amount, effect: 'voided' };
          if (await transition(paymentId, 'REFUNDED', tx)) {
            return { status: 'REFUNDED', amount: payment.amount, effect: 'refunded' };
          }
          return { status: payment.status, amount: 0, effect: 'none' };
        },
      );
      return { paymentId, status: outcome.status as PaymentStatus };
    },
  };
}

export type PaymentsActivities = ReturnType<typeof createPaymentsActivities>;
