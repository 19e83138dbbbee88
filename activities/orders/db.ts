import { PrismaClient, type Prisma } from './generated/prisma/client';
import { pgAdapter } from '../shared/prisma';
import type { Ledger, Outcome } from '../shared/idempotency';

export type OrdersDb = PrismaClient;
export type OrdersTx = Prisma.TransactionClient;

export function createOrdersDb(databaseUrl: string, poolSize: number): OrdersDb {
  return new PrismaClient({ adapter: pgAdapter(databaseUrl, poolSize) });
}

export function ordersLedger(sagaId: string, orderId: string, operation: string): Ledger<OrdersTx> {
  return {
    async findOutcome(tx, idempotencyKey) {
      const row = await tx.orderOperation.findUnique({ where: { idempotencyKey } });
      return (row?.outcome as Outcome | undefined) ?? null;
    },
    async record(tx, idempotencyKey, outcome) {
      await tx.orderOperation.create({ data: { idempotencyKey, sagaId, orderId, operation, outcome } });
    },
  };
}
