import { z } from '../shared/zod';
import { AUDITED_ACTIONS, COMPENSATION_STATUSES, SAGA_STATUSES, STEP_STATUSES } from '../shared/saga-state';
import { orderItemSchema } from '../shared/order';
import { EVENT_DEFINITIONS, EVENT_TYPES, type AggregateType } from '../shared/events';

const AGGREGATE_TYPES = [...new Set(Object.values(EVENT_DEFINITIONS).map((d) => d.aggregateType))] as [
  AggregateType,
  ...AggregateType[],
];

/** Request and response shapes of the API; the TypeScript types and the OpenAPI document derive from these. */

export const orderIdSchema = z
  .string()
  .regex(/^ord_[a-f0-9-]{16,64}$/, 'must be an order id such as ord_1b4e28ba-2fa1-11d2-883f-0016d3cca427');

/** An order saga's id (order-…), or a refund saga's, which is its order's: refund-ord_…. */
export const sagaIdSchema = z
  .string()
  .regex(
    /^(order-[a-f0-9-]{16,64}|refund-ord_[a-f0-9-]{16,64})$/,
    'must be a saga id such as order-1b4e28ba-2fa1-11d2-883f-0016d3cca427 or refund-ord_1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  );

/** The sagas the API starts, by the name their definition gives them. */
export const SAGA_NAMES = ['order', 'refund'] as const;
export const sagaNameSchema = z.enum(SAGA_NAMES).meta({
  description: 'Which saga: an order (POST /sagas) or the refund of one (POST /orders/{orderId}/refund)',
});

export const sagaStatusSchema = z.enum(SAGA_STATUSES);

export const stepViewSchema = z.object({
  name: z.string(),
  kind: z.enum(['compensatable', 'pivot', 'retriable']).optional().meta({
    description: 'compensatable (undone on failure), pivot (the go/no-go step), retriable (after the pivot)',
  }),
  group: z
    .number()
    .int()
    .optional()
    .meta({ description: 'Steps with the same group index run concurrently (a parallel group)' }),
  status: z.enum(STEP_STATUSES),
  attempts: z.number().int().meta({
    description: 'While the call runs: the attempt running or next to run (Temporal retries it)',
  }),
  lastError: z.string().optional(),
  nextRetryAt: z.string().optional().meta({ description: 'While in backoff: when the next attempt starts' }),
  deadlineAt: z
    .string()
    .optional()
    .meta({ description: 'While the call runs: when its deadline passes and retrying stops' }),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
});

export const compensationViewSchema = z.object({
  step: z.string(),
  activity: z.string(),
  status: z.enum(COMPENSATION_STATUSES),
  attempts: z.number().int().meta({
    description: 'While the call runs: the attempt running or next to run (Temporal retries it)',
  }),
  lastError: z.string().optional(),
  nextRetryAt: z.string().optional().meta({ description: 'While in backoff: when the next attempt starts' }),
  deadlineAt: z
    .string()
    .optional()
    .meta({ description: 'While the call runs: when its deadline passes and retrying stops' }),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
});

export const sagaLinksSchema = z.object({
  self: z.string(),
  webUi: z.string(),
});

const startedBySchema = z.string().optional().meta({
  description:
    'The principal that started the saga (key_<hash> of an API key, jwt:<sub> of a token); absent for sagas started before ownership',
});

export const auditEntrySchema = z.object({
  action: z.enum(AUDITED_ACTIONS),
  by: z.string().optional().meta({ description: 'The principal that asked (absent from older clients)' }),
  at: z.string(),
});

export const sagaViewSchema = z.object({
  sagaId: z.string(),
  orderId: z.string().optional(),
  customerId: z.string().optional(),
  startedBy: startedBySchema,
  status: sagaStatusSchema,
  temporalStatus: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  failure: z.object({ step: z.string().optional(), reason: z.string(), cancelled: z.boolean() }).optional(),
  parkedReason: z.string().optional(),
  resolution: z
    .object({
      note: z.string(),
      at: z.string(),
      by: z.string().optional().meta({ description: 'The operator who resolved it' }),
    })
    .optional(),
  audit: z
    .array(auditEntrySchema)
    .optional()
    .meta({ description: 'Every accepted cancel, resume and resolve: who and when' }),
  cancelRequestedAt: z.string().optional(),
  compensationMode: z.enum(['sequential', 'parallel']).optional(),
  sagaName: z.string().optional().meta({ description: 'The saga definition, e.g. order or refund' }),
  sagaVersion: z.number().int().optional().meta({
    description: 'The definition version the saga runs (sagas keep the version they started on)',
  }),
  steps: z.array(stepViewSchema),
  compensations: z.array(compensationViewSchema),
  result: z.record(z.string(), z.unknown()).optional(),
  links: sagaLinksSchema,
});

export const startSagaResponseSchema = z.object({
  sagaId: z.string(),
  orderId: z.string(),
  status: sagaStatusSchema,
  links: sagaLinksSchema,
  saga: sagaViewSchema.optional(),
});

export const sagaSummarySchema = z.object({
  sagaId: z.string(),
  sagaName: sagaNameSchema,
  orderId: z.string().optional(),
  customerId: z.string().optional(),
  startedBy: startedBySchema,
  status: sagaStatusSchema.optional(),
  temporalStatus: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  links: sagaLinksSchema,
});

export const listSagasQuerySchema = z.strictObject({
  sagaName: sagaNameSchema.optional(),
  status: sagaStatusSchema.optional(),
  customerId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a customer id')
    .optional(),
  orderId: orderIdSchema.optional(),
  startedAfter: z.iso.datetime({ offset: true }).optional(),
  startedBefore: z.iso.datetime({ offset: true }).optional(),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,4096}$/, 'must be a cursor returned by a previous page')
    .optional(),
});

export const listSagasResponseSchema = z.object({
  sagas: z.array(sagaSummarySchema),
  nextCursor: z.string().optional(),
});

export const startSagaQuerySchema = z.strictObject({
  /** Wait up to this many seconds for the saga's final state (200), else answer 202 while it runs. */
  waitSeconds: z.coerce.number().int().min(0).max(30).optional(),
});

export const idempotencyKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{8,128}$/, 'must be 8 to 128 characters of letters, digits, ".", "_", ":" or "-"');

export const refundPathSchema = z.strictObject({ orderId: orderIdSchema });

export const stockPathSchema = z.strictObject({ sku: orderItemSchema.shape.sku });

export const stockLevelSchema = z.object({
  sku: z.string(),
  available: z.number().int().meta({ description: 'Units an order can still reserve' }),
  onHand: z.number().int().meta({ description: 'Units in the warehouse: available plus those reserved' }),
});
export type StockLevelView = z.infer<typeof stockLevelSchema>;

export const timelinePathSchema = z.strictObject({ orderId: orderIdSchema });

export const timelineEventSchema = z.object({
  eventId: z.string().meta({ description: 'The domain event id (also its JetStream message id)' }),
  type: z.enum(EVENT_TYPES).meta({ description: 'The event type (docs/events has the schema of each)' }),
  aggregateType: z.enum(AGGREGATE_TYPES),
  aggregateId: z
    .string()
    .meta({ description: 'The order, payment (pay_…), shipment (shp_…) or reservation (res_…)' }),
  sequence: z
    .number()
    .int()
    .meta({ description: "1, 2, 3, … per aggregate: the order of an aggregate's events" }),
  occurredAt: z.string().meta({ description: "When the effect committed (the service database's clock)" }),
  sagaId: z.string().meta({ description: 'The saga whose step or compensation had the effect' }),
  payload: z.record(z.string(), z.unknown()).meta({
    description: "The event's payload: ids, amounts, items, tracking numbers; never card data or addresses",
  }),
});

export const orderTimelineSchema = z.object({
  orderId: z.string(),
  consistency: z.literal('eventual').meta({
    description:
      'Built from the domain events by the order-history consumer: it may lag the services a little',
  }),
  lastAppliedSequence: z.number().int().meta({
    description: 'The last event stream sequence the read model applied: every event up to it is in',
  }),
  events: z
    .array(timelineEventSchema)
    .meta({ description: "The order's events, in the order they happened (occurredAt, then sequence)" }),
});
export type OrderTimelineView = z.infer<typeof orderTimelineSchema>;

/** A refund takes no body; an empty object is accepted, anything in it is refused. */
export const refundRequestSchema = z.strictObject({}).optional();

export const resolveRequestSchema = z.strictObject({
  note: z.string().trim().min(1).max(2000),
});

export const operatorActionResponseSchema = z.object({
  sagaId: z.string(),
  status: sagaStatusSchema,
});

export type SagaName = z.infer<typeof sagaNameSchema>;
export type SagaView = z.infer<typeof sagaViewSchema>;
export type SagaSummary = z.infer<typeof sagaSummarySchema>;
export type ListSagasQuery = z.infer<typeof listSagasQuerySchema>;
export type StartSagaResponse = z.infer<typeof startSagaResponseSchema>;
export type ListSagasResponse = z.infer<typeof listSagasResponseSchema>;
