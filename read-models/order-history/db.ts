import { PrismaClient, type Prisma } from './generated/prisma/client';
import { pgAdapter } from '../../activities/shared/prisma';

/** The order-history read model's own database (prisma/order-history): its consumer writes, the API reads. */
export type OrderHistoryDb = PrismaClient;
export type OrderHistoryTx = Prisma.TransactionClient;

export function createOrderHistoryDb(databaseUrl: string, poolSize: number): OrderHistoryDb {
  return new PrismaClient({ adapter: pgAdapter(databaseUrl, poolSize) });
}
