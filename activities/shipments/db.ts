import { PrismaClient, type Prisma } from './generated/prisma/client';
import { pgAdapter } from '../shared/prisma';
import type { Ledger, Outcome } from '../shared/idempotency';

export type ShipmentsDb = PrismaClient;
export type ShipmentsTx = Prisma.TransactionClient;

export function createShipmentsDb(databaseUrl: string, poolSize: number): ShipmentsDb {
  return new PrismaClient({ adapter: pgAdapter(databaseUrl, poolSize) });
}

export function shipmentsLedger(sagaId: string, shipmentId: string, operation: string): Ledger<ShipmentsTx> {
  return {
    async findOutcome(tx, idempotencyKey) {
      const row = await tx.shipmentOperation.findUnique({ where: { idempotencyKey } });
      return (row?.outcome as Outcome | undefined) ?? null;
    },
    async record(tx, idempotencyKey, outcome) {
      await tx.shipmentOperation.create({ data: { idempotencyKey, sagaId, shipmentId, operation, outcome } });
    },
  };
}
