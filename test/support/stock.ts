/**
 * What global-setup stocks the test inventory with: the SKUs of the sample order (examples/order.ts),
 * plenty of each, so that no test but those about stock meets OutOfStock. A test about scarcity stocks
 * a SKU of its own.
 */
export const TEST_STOCK: Readonly<Record<string, number>> = {
  'book-1': 1_000_000_000,
  'pen-7': 1_000_000_000,
};
