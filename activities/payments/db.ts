import { PrismaClient, type Prisma } from './generated/prisma/client';
import { pgAdapter } from '../shared/prisma';
import type { Ledger, Outcome } from '../shared/idempotency';

export type PaymentsDb = PrismaClient;
export type PaymentsTx = Prisma.TransactionClient;

export function createPaymentsDb(databaseUrl: string, poolSize: number): PaymentsDb {
  return new PrismaClient({ adapter: pgAdapter(databaseUrl, poolSize) });
}

export function paymentsLedger(sagaId: string, paymentId: string, operation: string): Ledger<PaymentsTx> {
  return {
    async findOutcome(tx, idempotencyKey) {
      const row = await tx.paymentOperation.findUnique({ where: { idempotencyKey } });
      return (row?.outcome as Outcome | undefined) ?? null;
    },
    async record(tx, idempotencyKey, outcome) {
      const amount = typeof outcome.amount === 'number' ? outcome.amount : 0;
      await tx.paymentOperation.create({
        data: { idempotencyKey, sagaId, paymentId, operation, amount, outcome },
      });
    },
  };
}
