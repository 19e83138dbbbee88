import { Client } from 'pg';

/**
 * Stocks SKUs that are not stocked yet (units on hand, all available). SKUs already stocked keep their
 * levels, so seeding again at every start never undoes what sagas reserved. Plain SQL rather than the
 * service's Prisma client: db:prepare runs it before any worker, from scripts that load no generated client.
 */
export async function seedStock(
  databaseUrl: string,
  levels: Readonly<Record<string, number>>,
): Promise<number> {
  const entries = Object.entries(levels);
  if (entries.length === 0) return 0;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query(
      `INSERT INTO "Stock" (sku, available, "onHand", "updatedAt")
       SELECT sku, units, units, now() FROM unnest($1::text[], $2::int[]) AS s(sku, units)
       ON CONFLICT (sku) DO NOTHING`,
      [entries.map(([sku]) => sku), entries.map(([, units]) => units)],
    );
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}
