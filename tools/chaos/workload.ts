import type { OrderRequest } from '../../shared/order';

/** SKU bought by one order in 20, with fewer units than orders for it: those sagas race for the last units. */
export const SCARCE_SKU = 'sku-scarce';

/** What a chaos run stocks: plenty of the SKUs most orders buy, few of the scarce one. */
export const CHAOS_STOCK: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`sku-${i}`, 1_000_000_000])),
  [SCARCE_SKU]: 10,
};

/**
 * The mix of sagas a chaos run drives: most succeed, some fail permanently, transiently or by timeout,
 * and one in 20 competes for a scarce SKU (OutOfStock once it is gone, put back by compensations).
 * A provider that never answers (tok_timeout) is retried until the shipped step deadline (10 minutes)
 * before its saga compensates; `timeouts: false` (the scripted run in `npm test`) leaves those out so the
 * run ends in minutes. The order saga tests cover the deadline with a short one.
 */
export function chaosOrder(
  i: number,
  random: () => number,
  { timeouts = true }: { timeouts?: boolean } = {},
): { order: OrderRequest; cancel: boolean } {
  const roll = random();
  const token =
    roll < 0.1
      ? 'tok_chargeDeclined'
      : roll < 0.2
        ? 'tok_processingError'
        : roll < 0.25
          ? timeouts
            ? 'tok_timeout'
            : 'tok_visa'
          : 'tok_visa';
  const second = random();
  const country = second < 0.1 ? 'AQ' : 'DE';
  const customerId = second > 0.95 ? `hold-${i}` : `chaos-${i % 50}`;
  return {
    order: {
      customerId,
      currency: 'EUR',
      items: [
        {
          sku: i % 20 === 3 ? SCARCE_SKU : `sku-${i % 7}`,
          quantity: 1 + (i % 3),
          unitPrice: 500 + (i % 11) * 100,
        },
      ],
      paymentToken: token,
      shippingAddress: {
        name: 'Chaos Tester',
        line1: '1 Fault Lane',
        city: 'Berlin',
        postalCode: '10115',
        country,
      },
    },
    cancel: random() < 0.05,
  };
}

/** A small seeded generator, so a run can be repeated with --seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
