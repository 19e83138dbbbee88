/** Sum of an order's lines in minor units. Kept free of zod so that workflow code can import it. */
export function orderTotal(items: readonly { quantity: number; unitPrice: number }[]): number {
  return items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
}
