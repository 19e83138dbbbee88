import { PrismaClient, type Prisma } from './generated/prisma/client';
import { pgAdapter } from '../shared/prisma';
import type { Ledger, Outcome } from '../shared/idempotency';

export type InventoryDb = PrismaClient;
export type InventoryTx = Prisma.TransactionClient;

export function createInventoryDb(databaseUrl: string, poolSize: number): InventoryDb {
  return new PrismaClient({ adapter: pgAdapter(databaseUrl, poolSize) });
}

export function inventoryLedger(
  sagaId: string,
  reservationId: string,
  operation: string,
): Ledger<InventoryTx> {
  return {
    async findOutcome(tx, idempotencyKey) {
      const row = await tx.inventoryOperation.findUnique({ where: { idempotencyKey } });
      return (row?.outcome as Outcome | undefined) ?? null;
    },
    async record(tx, idempotencyKey, outcome) {
      await tx.inventoryOperation.create({
        data: { idempotencyKey, sagaId, reservationId, operation, outcome },
      });
    },
  };
}
