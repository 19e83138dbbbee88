import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityMeta } from '../../shared/activity-meta';
import { businessFailure, transientFailure } from '../shared/failures';
import { applyOnce, scopedKey } from '../shared/idempotency';
import { appendEvent } from '../shared/outbox';
import { paymentsLedger, type PaymentsDb, type PaymentsTx } from './db';
import { providerKeys } from './provider';
import { ProviderError, type CallOptions, type ChargeResponse, type PaymentProvider } from './provider-store';
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

export interface RefundResult extends PaymentResult {
  /** What was given back, in minor units of the currency: the whole captured amount. */
  amount: number;
  currency: string;
}

/**
 * One payment per order; its id is derived from the order (new for every saga run, even one that re-uses
 * an earlier run's saga id) so every retry addresses the same payment and no run meets another's.
 */
export function paymentIdOf(orderId: string): string {
  return `pay_${orderId}`;
}

/** The provider's answer, or the activity failure it means: 5xx and timeouts are retried. */
async function callProvider(call: () => Promise<ChargeResponse>): Promise<ChargeResponse> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    if (error.retryable) throw transientFailure(error.code, error.message);
    throw ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: true });
  }
}

/** A provider that never answers outlives the activity's timeout, as a real one would. */
function hangOptions(): CallOptions {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return {}; // called outside a Temporal activity (tests drive the activities directly)
  }
  return { hangMs: context.info.startToCloseTimeoutMs + 1000, signal: context.cancellationSignal };
}

/**
 * The payments service's activities, bound to its own database and to the payment provider (in a worker,
 * behind its circuit breaker: provider-breaker.ts). Each calls the provider before its own commit, with an idempotency key of the operation (providerKeys): a worker
 * that dies between the two is retried, and the provider answers the retry with the charge it made.
 */
export function createPaymentsActivities(db: PaymentsDb, provider: PaymentProvider) {
  const transaction = <T>(work: (tx: PaymentsTx) => Promise<T>) => db.$transaction(work);

  async function transition(paymentId: string, to: PaymentStatus, tx: PaymentsTx) {
    const { count } = await tx.payment.updateMany({
      where: { id: paymentId, status: { in: paymentStateMachine.sourcesOf(to) } },
      data: { status: to },
    });
    return count === 1;
  }

  /** The event of a payment's status change, from the payment's row. */
  const paymentEvent = (
    tx: PaymentsTx,
    type: 'payment.captured' | 'payment.voided' | 'payment.refunded',
    payment: { id: string; orderId: string; amount: number; currency: string },
    meta: ActivityMeta,
  ) =>
    appendEvent(tx, {
      type,
      aggregateId: payment.id,
      sagaId: meta.sagaId,
      payload: {
        paymentId: payment.id,
        orderId: payment.orderId,
        amount: payment.amount,
        currency: payment.currency,
      },
    });

  /** Fault injection for tests and chaos runs: the provider refuses this operation for this saga. */
  async function injectedFault(sagaId: string, operation: string): Promise<string | undefined> {
    const fault = await db.providerFault.findUnique({ where: { sagaId_operation: { sagaId, operation } } });
    return fault?.message;
  }

  return {
    async authorizePayment(input: AuthorizePaymentInput, meta: ActivityMeta): Promise<PaymentResult> {
      const paymentId = paymentIdOf(input.orderId);
      const keys = providerKeys(paymentId);
      const charge = await callProvider(() =>
        provider.authorize(
          {
            idempotencyKey: keys.authorize,
            paymentId,
            amount: input.amount,
            currency: input.currency,
            token: input.paymentToken,
          },
          hangOptions(),
        ),
      );
      const declined = charge.status === 'declined';
      const outcome = await applyOnce(
        transaction,
        paymentsLedger(meta.sagaId, paymentId, 'authorize'),
        scopedKey(paymentId, meta.idempotencyKey),
        async (tx) => {
          const existing = await tx.payment.findUnique({ where: { id: paymentId } });
          if (existing) return { status: existing.status, amount: 0, effect: 'none', reason: null };
          await tx.payment.create({
            data: {
              id: paymentId,
              sagaId: meta.sagaId,
              orderId: input.orderId,
              amount: input.amount,
              currency: input.currency,
              status: declined ? 'DECLINED' : 'AUTHORIZED',
              declineReason: declined ? charge.declineReason : null,
              providerRef: charge.chargeId,
            },
          });
          const payment = {
            paymentId,
            orderId: input.orderId,
            amount: input.amount,
            currency: input.currency,
          };
          await (declined
            ? appendEvent(tx, {
                type: 'payment.declined',
                aggregateId: paymentId,
                sagaId: meta.sagaId,
                payload: { ...payment, reason: charge.declineReason ?? 'declined' },
              })
            : appendEvent(tx, {
                type: 'payment.authorized',
                aggregateId: paymentId,
                sagaId: meta.sagaId,
                payload: payment,
              }));
          return declined
            ? { status: 'DECLINED', amount: 0, effect: 'declined', reason: charge.declineReason }
            : { status: 'AUTHORIZED', amount: input.amount, effect: 'authorized', reason: null };
        },
      );
      if (outcome.status === 'DECLINED') {
        throw businessFailure('PaymentDeclined', `payment declined: ${outcome.reason ?? 'declined'}`);
      }
      if (outcome.status !== 'AUTHORIZED' && outcome.status !== 'CAPTURED') {
        // The saga released the payment before this (late) authorization: its tombstone refuses it, and
        // the provider must not keep holding the money it just authorized.
        if (charge.status === 'authorized') {
          await callProvider(() => provider.release({ idempotencyKey: keys.lateVoid, paymentId }));
        }
        throw businessFailure('InvalidTransition', `payment ${paymentId} is already ${outcome.status}`);
      }
      return { paymentId, status: outcome.status as PaymentStatus };
    },

    async capturePayment(input: { orderId: string }, meta: ActivityMeta): Promise<PaymentResult> {
      const paymentId = paymentIdOf(input.orderId);
      const current = await db.payment.findUnique({ where: { id: paymentId } });
      if (current?.status === 'AUTHORIZED' && current.providerRef) {
        const { providerRef } = current;
        const captured = await callProvider(() =>
          provider.capture({ idempotencyKey: providerKeys(paymentId).capture, chargeId: providerRef }),
        );
        if (captured.status !== 'captured') {
          throw businessFailure(
            'InvalidTransition',
            `payment ${paymentId} cannot be captured: the provider's charge is ${captured.status}`,
          );
        }
      }
      const outcome = await applyOnce(
        transaction,
        paymentsLedger(meta.sagaId, paymentId, 'capture'),
        scopedKey(paymentId, meta.idempotencyKey),
        async (tx) => {
          const payment = await tx.payment.findUnique({ where: { id: paymentId } });
          if (payment && (await transition(paymentId, 'CAPTURED', tx))) {
            await paymentEvent(tx, 'payment.captured', payment, meta);
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
      input: { orderId: string; currency: string; paymentId?: string },
      meta: ActivityMeta,
    ): Promise<PaymentResult> {
      // Addresses the payment the step returned, or the order's when the step's outcome is unknown.
      const paymentId = input.paymentId ?? paymentIdOf(input.orderId);
      if (paymentId !== paymentIdOf(input.orderId)) {
        throw businessFailure(
          'InvalidOrder',
          `payment ${paymentId} is not the payment of order ${input.orderId}`,
        );
      }
      const fault = await injectedFault(meta.sagaId, 'release');
      if (fault) throw transientFailure('ProviderUnavailable', fault);
      const outcome = await applyOnce(
        transaction,
        paymentsLedger(meta.sagaId, paymentId, 'release'),
        scopedKey(paymentId, meta.idempotencyKey),
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
          if (await transition(paymentId, 'VOIDED', tx)) {
            await paymentEvent(tx, 'payment.voided', payment, meta);
            return { status: 'VOIDED', amount: payment.amount, effect: 'voided' };
          }
          if (await transition(paymentId, 'REFUNDED', tx)) {
            await paymentEvent(tx, 'payment.refunded', payment, meta);
            return { status: 'REFUNDED', amount: payment.amount, effect: 'refunded' };
          }
          return { status: payment.status, amount: 0, effect: 'none' };
        },
      );
      // Then whatever the provider holds for the payment is released, also when this service recorded
      // nothing (the worker may have died after the provider authorized and before it recorded the
      // payment), and also on a retry that found the outcome above already recorded. Only after the
      // commit: an authorization racing this release either is seen here, or finds the payment released
      // when it commits and voids its own charge (see authorizePayment).
      await callProvider(() =>
        provider.release({ idempotencyKey: providerKeys(paymentId).release, paymentId }),
      );
      return { paymentId, status: outcome.status as PaymentStatus };
    },

    /**
     * The refund saga's pivot: refunds a CAPTURED payment at the provider, then records it REFUNDED. The
     * provider first, as capture does, under the refund's own idempotency key: a worker that dies between
     * the two is retried and the provider answers with the refund it made, never a second one. A missing or
     * not-captured payment is refused and nothing is written (a refund is no compensation: it must leave no
     * tombstone). A payment refunded by another operation meanwhile (the order saga's release) is refused
     * too: this saga did not return the money, so it must not go on as if it had.
     */
    async refundPayment(input: { orderId: string }, meta: ActivityMeta): Promise<RefundResult> {
      const paymentId = paymentIdOf(input.orderId);
      const current = await db.payment.findUnique({ where: { id: paymentId } });
      if (!current) throw businessFailure('PaymentNotRefundable', `payment ${paymentId} does not exist`);
      if (current.status === 'CAPTURED' && current.providerRef) {
        const { providerRef } = current;
        const refunded = await callProvider(() =>
          provider.refund({ idempotencyKey: providerKeys(paymentId).refund, chargeId: providerRef }),
        );
        if (refunded.status !== 'refunded') {
          throw businessFailure(
            'PaymentNotRefundable',
            `payment ${paymentId} cannot be refunded: the provider's charge is ${refunded.status}`,
          );
        }
      }
      const outcome = await applyOnce(
        transaction,
        paymentsLedger(meta.sagaId, paymentId, 'refund'),
        scopedKey(paymentId, meta.idempotencyKey),
        async (tx) => {
          const payment = await tx.payment.findUnique({ where: { id: paymentId } });
          if (payment && (await transition(paymentId, 'REFUNDED', tx))) {
            await paymentEvent(tx, 'payment.refunded', payment, meta);
            return { status: 'REFUNDED', amount: payment.amount, effect: 'refunded' };
          }
          // Thrown inside the transaction: nothing is recorded for a refund that did not happen here.
          throw businessFailure(
            'PaymentNotRefundable',
            `payment ${paymentId} is ${payment?.status ?? 'MISSING'}; only a CAPTURED payment can be refunded`,
          );
        },
      );
      return { paymentId, status: 'REFUNDED', amount: outcome.amount, currency: current.currency };
    },
  };
}

export type PaymentsActivities = ReturnType<typeof createPaymentsActivities>;
