import type { ActivityMeta } from '../../shared/activity-meta';
import type { Address } from '../../shared/order';
import { businessFailure } from '../shared/failures';
import { applyOnce, scopedKey } from '../shared/idempotency';
import { appendEvent } from '../shared/outbox';
import { undoOrTombstone } from '../shared/tombstone';
import { shipmentsLedger, type ShipmentsDb, type ShipmentsTx } from './db';
import { unserviceableReason } from './serviceability';
import { shipmentStateMachine } from './state-machine';
import type { ShipmentStatus } from './generated/prisma/client';

export interface ShipmentResult {
  shipmentId: string;
  status: ShipmentStatus;
  trackingNumber: string | null;
}

/**
 * One shipment per order; its id is derived from the order (new for every saga run, even one that re-uses
 * an earlier run's saga id) so every retry addresses the same shipment and no run meets another's.
 */
export function shipmentIdOf(orderId: string): string {
  return `shp_${orderId}`;
}

/** The tracking number of an order's shipment. */
export function trackingNumberOf(orderId: string): string {
  return `TRK-${orderId}`;
}

/** The shipments service's activities, bound to its own database only. */
export function createShipmentsActivities(db: ShipmentsDb) {
  const transaction = <T>(work: (tx: ShipmentsTx) => Promise<T>) => db.$transaction(work);
  const cancel = async (tx: ShipmentsTx, shipmentId: string) => {
    const { count } = await tx.shipment.updateMany({
      where: { id: shipmentId, status: { in: shipmentStateMachine.sourcesOf('CANCELLED') } },
      data: { status: 'CANCELLED' },
    });
    return count === 1;
  };

  return {
    async scheduleShipment(
      input: { orderId: string; address: Address },
      meta: ActivityMeta,
    ): Promise<ShipmentResult> {
      const shipmentId = shipmentIdOf(input.orderId);
      const refusal = unserviceableReason(input.address);
      if (refusal) throw businessFailure('AddressNotServiceable', `address not serviceable: ${refusal}`);
      const trackingNumber = trackingNumberOf(input.orderId);
      const outcome = await applyOnce(
        transaction,
        shipmentsLedger(meta.sagaId, shipmentId, 'schedule'),
        scopedKey(shipmentId, meta.idempotencyKey),
        async (tx) => {
          const existing = await tx.shipment.findUnique({ where: { id: shipmentId } });
          if (existing) return { status: existing.status, effect: 'none' };
          await tx.shipment.create({
            data: {
              id: shipmentId,
              sagaId: meta.sagaId,
              orderId: input.orderId,
              address: input.address,
              status: 'SCHEDULED',
              trackingNumber,
            },
          });
          await appendEvent(tx, {
            type: 'shipment.scheduled',
            aggregateId: shipmentId,
            sagaId: meta.sagaId,
            payload: { shipmentId, orderId: input.orderId, trackingNumber },
          });
          return { status: 'SCHEDULED', effect: 'scheduled' };
        },
      );
      if (outcome.status !== 'SCHEDULED') {
        throw businessFailure('InvalidTransition', `shipment ${shipmentId} is already ${outcome.status}`);
      }
      return { shipmentId, status: 'SCHEDULED', trackingNumber };
    },

    /**
     * Compensation of scheduleShipment (and the refund saga's step); leaves a cancelled tombstone when
     * nothing was scheduled yet. Addresses the shipment the step returned, or the order's when unknown.
     */
    async cancelShipment(
      input: { orderId: string; shipmentId?: string },
      meta: ActivityMeta,
    ): Promise<ShipmentResult> {
      const shipmentId = input.shipmentId ?? shipmentIdOf(input.orderId);
      if (shipmentId !== shipmentIdOf(input.orderId)) {
        throw businessFailure(
          'InvalidOrder',
          `shipment ${shipmentId} is not the shipment of order ${input.orderId}`,
        );
      }
      await applyOnce(
        transaction,
        shipmentsLedger(meta.sagaId, shipmentId, 'cancel'),
        scopedKey(shipmentId, meta.idempotencyKey),
        async (tx) => {
          const outcome = await undoOrTombstone(
            'cancelled',
            () => cancel(tx, shipmentId),
            async () => {
              const created = await tx.shipment.createMany({
                data: [
                  {
                    id: shipmentId,
                    sagaId: meta.sagaId,
                    orderId: input.orderId,
                    address: {},
                    status: 'CANCELLED',
                    cancelledBeforeSchedule: true,
                  },
                ],
                skipDuplicates: true,
              });
              return created.count === 1;
            },
          );
          // A tombstone is no effect on a shipment anyone saw: it has no event.
          if (outcome.effect === 'cancelled') {
            await appendEvent(tx, {
              type: 'shipment.cancelled',
              aggregateId: shipmentId,
              sagaId: meta.sagaId,
              payload: { shipmentId, orderId: input.orderId },
            });
          }
          return outcome;
        },
      );
      return { shipmentId, status: 'CANCELLED', trackingNumber: null };
    },
  };
}

export type ShipmentsActivities = ReturnType<typeof createShipmentsActivities>;
