import type { InventoryDb } from './db';

/**
 * Stocks SKUs that are not stocked yet (units on hand, all available). SKUs already stocked keep their
 * levels, so seeding again at every start never undoes what sagas reserved.
 */
export async function seedStock(db: InventoryDb, levels: Readonly<Record<string, number>>): Promise<number> {
  const { count } = await db.stock.createMany({
    data: Object.entries(levels).map(([sku, units]) => ({ sku, available: units, onHand: units })),
    skipDuplicates: true,
  });
  return count;
}
