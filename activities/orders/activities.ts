import type { ActivityMeta } from '../../shared/activity-meta';
import type { Address, OrderItem } from '../../shared/order';
import { orderTotal } from '../../shared/order';
import { businessFailure } from '../shared/failures';
import { applyOnce, scopedKey } from '../shared/idempotency';
import { appendEvent } from '../shared/outbox';
import { undoOrTombstone } from '../shared/tombstone';
import { ordersLedger, type OrdersDb, type OrdersTx } from './db';
import { orderStateMachine } from './state-machine';
import type { OrderStatus } from './generated/prisma/client';

export interface CreateOrderInput {
  orderId: string;
  customerId: string;
  currency: string;
  items: OrderItem[];
  shippingAddress: Address;
  totalAmount: number;
}

export interface OrderResult {
  orderId: string;
  status: OrderStatus;
}

export interface RefundRequest extends OrderResult {
  customerId: string;
  currency: string;
  totalAmount: number;
}

type OrderRefundEvent = 'order.refund_requested' | 'order.refund_aborted' | 'order.refunded';

/** Accounts on hold (customer ids starting "hold-") may order, but their orders are never approved. */
export function isOnHold(customerId: string): boolean {
  return customerId.startsWith('hold-');
}

/** The orders service's activities, bound to its own database only. */
export function createOrdersActivities(db: OrdersDb) {
  const transaction = <T>(work: (tx: OrdersTx) => Promise<T>) => db.$transaction(work);

  /** Moves the order to `to` from one of `from` (default: every status the state machine allows). */
  async function transition(
    orderId: string,
    to: OrderStatus,
    tx: OrdersTx,
    from: readonly OrderStatus[] = orderStateMachine.sourcesOf(to),
  ) {
    const { count } = await tx.order.updateMany({
      where: { id: orderId, status: { in: from.filter((s) => orderStateMachine.canTransition(s, to)) } },
      data: { status: to },
    });
    return count === 1;
  }

  /** The event of a status change, whose payload is the order's id alone. */
  const orderEvent = (
    tx: OrdersTx,
    type: 'order.approved' | 'order.cancelled' | OrderRefundEvent,
    orderId: string,
    meta: ActivityMeta,
  ) => appendEvent(tx, { type, aggregateId: orderId, sagaId: meta.sagaId, payload: { orderId } });

  return {
    async createOrder(input: CreateOrderInput, meta: ActivityMeta): Promise<OrderResult> {
      if (orderTotal(input.items) !== input.totalAmount) {
        throw businessFailure('InvalidOrder', 'order total does not match its items');
      }
      const outcome = await applyOnce(
        transaction,
        ordersLedger(meta.sagaId, input.orderId, 'create'),
        scopedKey(input.orderId, meta.idempotencyKey),
        async (tx) => {
          const existing = await tx.order.findUnique({ where: { id: input.orderId } });
          if (existing) return { orderId: existing.id, status: existing.status, effect: 'none' };
          await tx.order.create({
            data: {
              id: input.orderId,
              sagaId: meta.sagaId,
              customerId: input.customerId,
              currency: input.currency,
              totalAmount: input.totalAmount,
              items: input.items,
              shippingAddress: input.shippingAddress,
              status: 'PENDING',
            },
          });
          await appendEvent(tx, {
            type: 'order.created',
            aggregateId: input.orderId,
            sagaId: meta.sagaId,
            payload: {
              orderId: input.orderId,
              customerId: input.customerId,
              currency: input.currency,
              totalAmount: input.totalAmount,
              items: input.items,
            },
          });
          return { orderId: input.orderId, status: 'PENDING', effect: 'created' };
        },
      );
      if (outcome.status === 'CANCELLED') {
        // The saga's compensation got here first (this call was a late retry): never revive the order.
        throw businessFailure('InvalidTransition', `order ${input.orderId} was already cancelled`);
      }
      return { orderId: outcome.orderId, status: outcome.status as OrderStatus };
    },

    async approveOrder(
      input: { orderId: string; customerId: string },
      meta: ActivityMeta,
    ): Promise<OrderResult> {
      if (isOnHold(input.customerId)) {
        throw businessFailure('InvalidOrder', 'customer account is on hold: order cannot be approved');
      }
      const outcome = await applyOnce(
        transaction,
        ordersLedger(meta.sagaId, input.orderId, 'approve'),
        scopedKey(input.orderId, meta.idempotencyKey),
        async (tx) => {
          // Only a new order: APPROVED is also where an aborted refund returns to.
          if (await transition(input.orderId, 'APPROVED', tx, ['PENDING'])) {
            await orderEvent(tx, 'order.approved', input.orderId, meta);
            return { status: 'APPROVED', effect: 'approved' };
          }
          const current = await tx.order.findUnique({ where: { id: input.orderId } });
          return { status: current?.status ?? 'MISSING', effect: 'none' };
        },
      );
      if (outcome.status !== 'APPROVED') {
        throw businessFailure(
          'InvalidTransition',
          `order ${input.orderId} cannot be approved from ${outcome.status}`,
        );
      }
      return { orderId: input.orderId, status: 'APPROVED' };
    },

    /** Compensation of createOrder. Also cancels an order that was never created, so a late create cannot revive it. */
    async cancelOrder(
      input: { orderId: string; customerId: string; currency: string },
      meta: ActivityMeta,
    ): Promise<OrderResult> {
      await applyOnce(
        transaction,
        ordersLedger(meta.sagaId, input.orderId, 'cancel'),
        scopedKey(input.orderId, meta.idempotencyKey),
        async (tx) => {
          const outcome = await undoOrTombstone(
            'cancelled',
            () => transition(input.orderId, 'CANCELLED', tx),
            async () => {
              const created = await tx.order.createMany({
                data: [
                  {
                    id: input.orderId,
                    sagaId: meta.sagaId,
                    customerId: input.customerId,
                    currency: input.currency,
                    totalAmount: 0,
                    items: [],
                    shippingAddress: {},
                    status: 'CANCELLED',
                    cancelledBeforeCreate: true,
                  },
                ],
                skipDuplicates: true,
              });
              return created.count === 1;
            },
          );
          // A tombstone is no effect on an order anyone saw: it has no event.
          if (outcome.effect === 'cancelled') await orderEvent(tx, 'order.cancelled', input.orderId, meta);
          return outcome;
        },
      );
      return { orderId: input.orderId, status: 'CANCELLED' };
    },

    /**
     * First step of the refund saga: APPROVED (its order saga completed) -> REFUND_REQUESTED. Returns what
     * the refund's later steps and its search attributes need. Refused for any other status, an unknown
     * order, or an order whose refund this saga already aborted (the tombstone of abortRefund).
     */
    async requestRefund(input: { orderId: string }, meta: ActivityMeta): Promise<RefundRequest> {
      const outcome = await applyOnce(
        transaction,
        ordersLedger(meta.sagaId, input.orderId, 'requestRefund'),
        scopedKey(input.orderId, meta.idempotencyKey),
        async (tx) => {
          const { count } = await tx.order.updateMany({
            where: {
              id: input.orderId,
              status: { in: orderStateMachine.sourcesOf('REFUND_REQUESTED') },
              OR: [{ refundAbortedBy: null }, { refundAbortedBy: { not: meta.sagaId } }],
            },
            data: { status: 'REFUND_REQUESTED' },
          });
          if (count === 1) await orderEvent(tx, 'order.refund_requested', input.orderId, meta);
          const order = await tx.order.findUnique({ where: { id: input.orderId } });
          return {
            status: order?.status ?? 'MISSING',
            effect: count === 1 ? 'requested' : 'none',
            aborted: order?.refundAbortedBy === meta.sagaId,
            customerId: order?.customerId ?? null,
            currency: order?.currency ?? null,
            totalAmount: order?.totalAmount ?? 0,
          };
        },
      );
      if (outcome.effect !== 'requested') {
        const why =
          outcome.status === 'MISSING'
            ? `order ${input.orderId} does not exist`
            : outcome.aborted && outcome.status === 'APPROVED'
              ? `the refund of order ${input.orderId} was already aborted by this saga`
              : `order ${input.orderId} is ${outcome.status}; only an APPROVED order can be refunded`;
        throw businessFailure('OrderNotRefundable', why);
      }
      return {
        orderId: input.orderId,
        status: 'REFUND_REQUESTED',
        customerId: String(outcome.customerId),
        currency: String(outcome.currency),
        totalAmount: Number(outcome.totalAmount),
      };
    },

    /**
     * Compensation of requestRefund: REFUND_REQUESTED -> APPROVED. Whatever the status, it marks the order
     * with this saga, so a requestRefund of the same saga arriving late (its outcome was uncertain) does
     * nothing; an unknown order needs no mark (a refund of it is refused anyway).
     */
    async abortRefund(
      input: { orderId: string },
      meta: ActivityMeta,
    ): Promise<{ orderId: string; status: OrderStatus | 'MISSING' }> {
      const outcome = await applyOnce(
        transaction,
        ordersLedger(meta.sagaId, input.orderId, 'abortRefund'),
        scopedKey(input.orderId, meta.idempotencyKey),
        async (tx) => {
          // The mark first: it locks the row, so a request committing meanwhile is seen by the revert
          // below, and a request arriving later finds the mark and does nothing.
          const marked = await tx.order.updateMany({
            where: { id: input.orderId },
            data: { refundAbortedBy: meta.sagaId },
          });
          if (marked.count === 0) return { status: 'MISSING', effect: 'none' };
          const reverted = await transition(input.orderId, 'APPROVED', tx, ['REFUND_REQUESTED']);
          if (reverted) {
            await orderEvent(tx, 'order.refund_aborted', input.orderId, meta);
            return { status: 'APPROVED', effect: 'reverted' };
          }
          const current = await tx.order.findUnique({ where: { id: input.orderId } });
          return { status: current?.status ?? 'MISSING', effect: 'tombstone' };
        },
      );
      return { orderId: input.orderId, status: outcome.status as OrderStatus | 'MISSING' };
    },

    /**
     * Last step of the refund saga (retried until it succeeds): REFUND_REQUESTED -> REFUNDED. An order the
     * order saga cancelled meanwhile (see the state machine) needs nothing more: its money is back too.
     */
    async completeRefund(input: { orderId: string }, meta: ActivityMeta): Promise<OrderResult> {
      const outcome = await applyOnce(
        transaction,
        ordersLedger(meta.sagaId, input.orderId, 'completeRefund'),
        scopedKey(input.orderId, meta.idempotencyKey),
        async (tx) => {
          if (await transition(input.orderId, 'REFUNDED', tx)) {
            await orderEvent(tx, 'order.refunded', input.orderId, meta);
            return { status: 'REFUNDED', effect: 'refunded' };
          }
          const current = await tx.order.findUnique({ where: { id: input.orderId } });
          if (current?.status === 'REFUNDED' || current?.status === 'CANCELLED') {
            return { status: current.status, effect: 'none' };
          }
          // Thrown inside the transaction, so no outcome is recorded: the saga's next try looks again.
          throw businessFailure(
            'InvalidTransition',
            `order ${input.orderId} cannot be refunded from ${current?.status ?? 'MISSING'}`,
          );
        },
      );
      return { orderId: input.orderId, status: outcome.status as OrderStatus };
    },
  };
}

export type OrdersActivities = ReturnType<typeof createOrdersActivities>;
