import { PrismaPg } from '@prisma/adapter-pg';

/** Options every service's Prisma client is built with: its own database, its own pool. */
export function pgAdapter(connectionString: string, poolSize: number): PrismaPg {
  return new PrismaPg({ connectionString, max: poolSize });
}
