import type { ActivityMeta } from '../../shared/activity-meta';
import type { Address, OrderItem } from '../../shared/order';
import { orderTotal } from '../../shared/order';
import { businessFailure } from '../shared/failures';
import { applyOnce, scopedKey } from '../shared/idempotency';
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

/** Accounts on hold (customer ids starting "hold-") may order, but their orders are never approved. */
export function isOnHold(customerId: string): boolean {
  return customerId.startsWith('hold-');
}

/** The orders service's activities, bound to its own database only. */
export function createOrdersActivities(db: OrdersDb) {
  const transaction = <T>(work: (tx: OrdersTx) => Promise<T>) => db.$transaction(work);

  async function transition(orderId: string, to: OrderStatus, tx: OrdersTx) {
    const { count } = await tx.order.updateMany({
      where: { id: orderId, status: { in: orderStateMachine.sourcesOf(to) } },
      data: { status: to },
    });
    return count === 1;
  }

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
          if (await transition(input.orderId, 'APPROVED', tx))
            return { status: 'APPROVED', effect: 'approved' };
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
          if (await transition(input.orderId, 'CANCELLED', tx)) return { effect: 'cancelled' };
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
          if (created.count === 1) return { effect: 'tombstone' };
          // A create committed between our update and our insert (the insert waited for it): cancel that.
          return { effect: (await transition(input.orderId, 'CANCELLED', tx)) ? 'cancelled' : 'none' };
        },
      );
      return { orderId: input.orderId, status: 'CANCELLED' };
    },
  };
}

export type OrdersActivities = ReturnType<typeof createOrdersActivities>;
