import type { OrderRequest } from '../shared/order';

/** A valid order (the same as examples/order.json, which the README's curl examples send). */
export function exampleOrder(overrides: Partial<OrderRequest> = {}): OrderRequest {
  return {
    customerId: 'cust-42',
    currency: 'EUR',
    items: [
      { sku: 'book-1', quantity: 2, unitPrice: 1250 },
      { sku: 'pen-7', quantity: 1, unitPrice: 300 },
    ],
    paymentToken: 'tok_visa',
    shippingAddress: {
      name: 'Ada Lovelace',
      line1: '1 Analytical Way',
      city: 'Berlin',
      postalCode: '10115',
      country: 'DE',
    },
    ...overrides,
  };
}
