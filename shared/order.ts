import { z } from './zod';
import { orderTotal } from './order-total';

export { orderTotal };

/**
 * The order saga's public input, validated at the API. Amounts are integers in minor units (cents).
 * Limits are documented in the README; they keep absurd orders out before any workflow starts.
 */
export const MAX_ITEMS = 50;
export const MAX_QUANTITY = 1000;
export const MAX_UNIT_PRICE = 10_000_000;
export const MAX_ORDER_TOTAL = 100_000_000;

const shortText = (max: number) => z.string().trim().min(1).max(max);

export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code in capitals, e.g. EUR');

export const orderItemSchema = z.strictObject({
  sku: shortText(64).regex(/^[A-Za-z0-9._-]+$/, 'may contain only letters, digits, ".", "_" and "-"'),
  quantity: z.number().int().min(1).max(MAX_QUANTITY),
  unitPrice: z.number().int().min(0).max(MAX_UNIT_PRICE),
});

export const addressSchema = z.strictObject({
  name: shortText(200),
  line1: shortText(200),
  line2: z.string().trim().max(200).optional(),
  city: shortText(100),
  postalCode: shortText(20),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in capitals, e.g. DE'),
});

export const orderRequestSchema = z
  .strictObject({
    customerId: shortText(64).regex(
      /^[A-Za-z0-9._-]+$/,
      'may contain only letters, digits, ".", "_" and "-"',
    ),
    currency: currencySchema,
    items: z.array(orderItemSchema).min(1).max(MAX_ITEMS),
    paymentToken: shortText(64).regex(/^tok_[A-Za-z0-9_]+$/, 'must be a payment token such as tok_visa'),
    shippingAddress: addressSchema,
  })
  .superRefine((order, ctx) => {
    if (orderTotal(order.items) > MAX_ORDER_TOTAL) {
      ctx.addIssue({ code: 'custom', path: ['items'], message: `order total exceeds ${MAX_ORDER_TOTAL}` });
    }
  });

export type OrderItem = z.infer<typeof orderItemSchema>;
export type Address = z.infer<typeof addressSchema>;
export type OrderRequest = z.infer<typeof orderRequestSchema>;
