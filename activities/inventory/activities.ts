import type { ActivityMeta } from '../../shared/activity-meta';
import { businessFailure } from '../shared/failures';
import { applyOnce, scopedKey } from '../shared/idempotency';
import { appendEvent } from '../shared/outbox';
import { undoOrTombstone } from '../shared/tombstone';
import { inventoryLedger, type InventoryDb, type InventoryTx } from './db';
import type { ReservationStatus } from './generated/prisma/client';

/** Units of one SKU. */
export interface StockLine {
  sku: string;
  quantity: number;
}

export interface ReservationResult {
  reservationId: string;
  status: ReservationStatus;
  items: StockLine[];
}

export interface StockLevel {
  sku: string;
  available: number;
  onHand: number;
}

/** One reservation per order, its id derived from the order so every retry addresses the same one. */
export function reservationIdOf(orderId: string): string {
  return `res_${orderId}`;
}

/**
 * An order's items as quantities per SKU, in SKU order: every reservation locks its stock rows in the
 * same order, so concurrent reservations wait for each other instead of deadlocking.
 */
export function stockLinesOf(items: readonly StockLine[]): StockLine[] {
  const totals = new Map<string, number>();
  for (const { sku, quantity } of items) totals.set(sku, (totals.get(sku) ?? 0) + quantity);
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([sku, quantity]) => ({ sku, quantity }));
}

/** The inventory service's activities, bound to its own database only. */
export function createInventoryActivities(db: InventoryDb) {
  const transaction = <T>(work: (tx: InventoryTx) => Promise<T>) => db.$transaction(work);

  /** Gives a reservation's units back; false when it is not RESERVED (released already, or absent). */
  const release = async (tx: InventoryTx, reservationId: string): Promise<boolean> => {
    const { count } = await tx.reservation.updateMany({
      where: { id: reservationId, status: 'RESERVED' },
      data: { status: 'RELEASED' },
    });
    if (count === 0) return false;
    const reservation = await tx.reservation.findUniqueOrThrow({ where: { id: reservationId } });
    for (const { sku, quantity } of reservation.items as unknown as StockLine[]) {
      await tx.stock.update({ where: { sku }, data: { available: { increment: quantity } } });
    }
    return true;
  };

  return {
    /**
     * Holds the order's units. All or nothing: when any SKU has too few units available (or is not
     * stocked), nothing is held and the step fails with the business failure OutOfStock. Concurrent
     * reservations of the last unit serialise on the stock row; the database's CHECK (available >= 0)
     * refuses negative stock whatever the code does.
     */
    async reserveStock(
      input: { orderId: string; items: readonly StockLine[] },
      meta: ActivityMeta,
    ): Promise<ReservationResult> {
      const reservationId = reservationIdOf(input.orderId);
      const lines = stockLinesOf(input.items);
      const outcome = await applyOnce(
        transaction,
        inventoryLedger(meta.sagaId, reservationId, 'reserve'),
        scopedKey(reservationId, meta.idempotencyKey),
        async (tx) => {
          const existing = await tx.reservation.findUnique({ where: { id: reservationId } });
          if (existing) return { status: existing.status, effect: 'none', short: null };
          const skus = lines.map((line) => line.sku);
          const rows = await tx.$queryRaw<{ sku: string; available: number }[]>`
            SELECT sku, available FROM "Stock" WHERE sku = ANY(${skus}::text[]) ORDER BY sku FOR UPDATE`;
          const available = new Map(rows.map((row) => [row.sku, row.available]));
          const short = lines.find((line) => (available.get(line.sku) ?? 0) < line.quantity);
          if (short) {
            const left = available.get(short.sku);
            const why = left === undefined ? 'is not stocked' : `has ${left} of ${short.quantity} available`;
            return { status: 'OUT_OF_STOCK', effect: 'none', short: `${short.sku} ${why}` };
          }
          for (const { sku, quantity } of lines) {
            await tx.stock.update({ where: { sku }, data: { available: { decrement: quantity } } });
          }
          await tx.reservation.create({
            data: {
              id: reservationId,
              sagaId: meta.sagaId,
              orderId: input.orderId,
              items: lines as unknown as object,
              status: 'RESERVED',
            },
          });
          await appendEvent(tx, {
            type: 'reservation.reserved',
            aggregateId: reservationId,
            sagaId: meta.sagaId,
            payload: { reservationId, orderId: input.orderId, items: lines },
          });
          return { status: 'RESERVED', effect: 'reserved', short: null };
        },
      );
      if (outcome.status === 'OUT_OF_STOCK') {
        throw businessFailure('OutOfStock', `out of stock: ${String(outcome.short)}`);
      }
      if (outcome.status !== 'RESERVED') {
        throw businessFailure(
          'InvalidTransition',
          `reservation ${reservationId} is already ${outcome.status}`,
        );
      }
      return { reservationId, status: 'RESERVED', items: lines };
    },

    /**
     * Compensation of reserveStock, and the refund saga's restock: the units go back to available. Leaves
     * a released tombstone when nothing was reserved yet, so a reservation arriving late holds nothing.
     * Addresses the reservation the step returned, or the order's when unknown.
     */
    async releaseStock(
      input: { orderId: string; reservationId?: string },
      meta: ActivityMeta,
    ): Promise<ReservationResult> {
      const reservationId = input.reservationId ?? reservationIdOf(input.orderId);
      if (reservationId !== reservationIdOf(input.orderId)) {
        throw businessFailure(
          'InvalidOrder',
          `reservation ${reservationId} is not the reservation of order ${input.orderId}`,
        );
      }
      await applyOnce(
        transaction,
        inventoryLedger(meta.sagaId, reservationId, 'release'),
        scopedKey(reservationId, meta.idempotencyKey),
        async (tx) => {
          const outcome = await undoOrTombstone(
            'released',
            () => release(tx, reservationId),
            async () => {
              const created = await tx.reservation.createMany({
                data: [
                  {
                    id: reservationId,
                    sagaId: meta.sagaId,
                    orderId: input.orderId,
                    items: [],
                    status: 'RELEASED',
                    releasedBeforeReserve: true,
                  },
                ],
                skipDuplicates: true,
              });
              return created.count === 1;
            },
          );
          // A tombstone holds no units: it has no event.
          if (outcome.effect === 'released') {
            const { items } = await tx.reservation.findUniqueOrThrow({ where: { id: reservationId } });
            await appendEvent(tx, {
              type: 'reservation.released',
              aggregateId: reservationId,
              sagaId: meta.sagaId,
              payload: { reservationId, orderId: input.orderId, items: items as unknown as StockLine[] },
            });
          }
          return outcome;
        },
      );
      const row = await db.reservation.findUnique({ where: { id: reservationId } });
      return { reservationId, status: 'RELEASED', items: (row?.items ?? []) as unknown as StockLine[] };
    },

    /** Stock levels of the given SKUs (those not stocked are left out). */
    async stockLevels(input: { skus: readonly string[] }): Promise<StockLevel[]> {
      return db.stock.findMany({
        where: { sku: { in: [...input.skus] } },
        select: { sku: true, available: true, onHand: true },
        orderBy: { sku: 'asc' },
      });
    },
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
