/**
 * The demo catalogue `npm start`, `npm run db:prepare` and compose stock on first start: the SKUs of
 * examples/order.json. SKUs already stocked keep their levels (see activities/inventory/seed.ts).
 */
export const DEMO_STOCK: Readonly<Record<string, number>> = {
  'book-1': 10_000,
  'pen-7': 10_000,
};
