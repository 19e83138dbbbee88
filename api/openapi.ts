import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { z } from '../shared/zod';
import { orderRequestSchema } from '../shared/order';
import type { Scope } from '../shared/scopes';
import {
  listSagasResponseExample,
  orderRequestExample,
  orderTimelineExample,
  problemExample,
  sagaExample,
  startSagaResponseExample,
  stockLevelExample,
} from './openapi-examples';
import { problemSchema } from './problem';
import {
  idempotencyKeySchema,
  listSagasQuerySchema,
  listSagasResponseSchema,
  operatorActionResponseSchema,
  orderTimelineSchema,
  refundPathSchema,
  resolveRequestSchema,
  stockLevelSchema,
  stockPathSchema,
  sagaIdSchema,
  sagaViewSchema,
  startSagaQuerySchema,
  startSagaResponseSchema,
  timelinePathSchema,
} from './schemas';

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (API_KEYS) or a JWT of the configured OIDC issuer. Each operation needs the scope named ' +
      'in its description and in its x-required-scope: sagas:start, sagas:read, sagas:cancel, ' +
      'sagas:operate. Without sagas:operate a caller sees, lists and cancels only the sagas it started ' +
      '(others are 404).',
  });
  // Scopes of a bearer scheme are not declarable in OpenAPI (only OAuth2 flows declare scopes), so each
  // operation names its scope in an extension and in its description instead.
  const needs = (scope: Scope) => ({
    security: [{ [bearer.name]: [] }],
    'x-required-scope': scope,
  });
  const scopeNote = (scope: Scope) => ` Needs the scope \`${scope}\`.`;
  const Problem = registry.register('Problem', problemSchema.meta({ example: problemExample }));
  const OrderRequest = registry.register(
    'OrderRequest',
    orderRequestSchema.meta({ example: orderRequestExample }),
  );
  const SagaView = registry.register('Saga', sagaViewSchema.meta({ example: sagaExample }));
  const StartSagaResponse = registry.register(
    'StartSagaResponse',
    startSagaResponseSchema.meta({ example: startSagaResponseExample }),
  );
  const ListSagasResponse = registry.register(
    'ListSagasResponse',
    listSagasResponseSchema.meta({ example: listSagasResponseExample }),
  );
  const OperatorActionResponse = registry.register(
    'OperatorActionResponse',
    operatorActionResponseSchema.meta({ example: { sagaId: sagaExample.sagaId, status: 'COMPENSATING' } }),
  );
  const sagaPath = z.object({ sagaId: sagaIdSchema });

  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: Problem } },
  });
  const json = (description: string, schema: z.ZodType) => ({
    description,
    content: { 'application/json': { schema } },
  });
  const common = {
    400: problem('Invalid query, path or header'),
    401: problem('Missing or refused API key or token'),
    403: problem('The identity lacks the scope this route needs (named in the problem)'),
    429: problem('Rate limit exceeded (see Retry-After)'),
    503: problem(
      'Temporal (or the orchestrator, for a cancel) is not reachable now; retry after Retry-After',
    ),
  };

  registry.registerPath({
    method: 'post',
    path: '/sagas',
    operationId: 'startSaga',
    tags: ['sagas'],
    summary: 'Start an order saga',
    description:
      'Starts the order saga (create order, reserve stock, authorize payment, schedule shipment, capture, ' +
      'approve; compensations in reverse when a step fails for a business reason, its deadline passes or ' +
      'it is cancelled). With an Idempotency-Key the same key and body return the same saga. With ' +
      'waitSeconds the answer waits for the final state up to that long.' +
      scopeNote('sagas:start'),
    ...needs('sagas:start'),
    request: {
      query: startSagaQuerySchema,
      headers: z.object({ 'idempotency-key': idempotencyKeySchema.optional() }),
      body: { required: true, content: { 'application/json': { schema: OrderRequest } } },
    },
    responses: {
      200: json('The saga reached a final state within waitSeconds', StartSagaResponse),
      202: json('The saga was accepted and runs; see Location', StartSagaResponse),
      ...common,
      413: problem('Body larger than the limit'),
      415: problem('Body is not application/json'),
      422: problem('Body invalid, or Idempotency-Key reused with another body'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/orders/{orderId}/refund',
    operationId: 'refundOrder',
    tags: ['orders'],
    summary: 'Refund a completed order: starts its refund saga (one per order, id refund-<orderId>)',
    description:
      'The saga refunds the payment, cancels the shipment and marks the order REFUNDED. An order that is ' +
      'not refundable (its order saga did not complete, or it is unknown) is not refused here: its refund ' +
      'saga ends COMPENSATED with the reason, having changed nothing. A repeated request answers with the ' +
      'refund the first one started (200 once it is final). Read, list and cancel it under /sagas; a cancel ' +
      "once the payment refund has started is refused (409). Without sagas:operate, only the caller's own " +
      'orders can be refunded (another order is 404).' +
      scopeNote('sagas:start'),
    ...needs('sagas:start'),
    request: {
      params: refundPathSchema,
      query: startSagaQuerySchema,
      body: {
        required: false,
        content: { 'application/json': { schema: z.strictObject({}) } },
      },
    },
    responses: {
      200: json('The refund saga is final (reached within waitSeconds, or found final)', StartSagaResponse),
      202: json('The refund saga was accepted (or found) and runs; see Location', StartSagaResponse),
      ...common,
      413: problem('Body larger than the limit'),
      415: problem('Body is not application/json'),
      404: problem('Without sagas:operate: not an order the caller started'),
      409: problem('Without sagas:operate: the refund of this order was started by someone else'),
      422: problem('Body not empty'),
    },
  });
  const OrderTimeline = registry.register(
    'OrderTimeline',
    orderTimelineSchema.meta({ example: orderTimelineExample }),
  );
  registry.registerPath({
    method: 'get',
    path: '/orders/{orderId}/timeline',
    operationId: 'getOrderTimeline',
    tags: ['orders'],
    summary: "An order's timeline: every domain event of the order, its payment, shipment and reservation",
    description:
      'Read from the order-history read model, which a consumer builds from the domain events on the ' +
      'event stream: eventually consistent, usually well under a second behind the services. ' +
      'lastAppliedSequence says how far in the stream it is. Without sagas:operate, only the timeline of ' +
      "an order the caller started is shown (another order's is 404, as an unknown one)." +
      scopeNote('sagas:read'),
    ...needs('sagas:read'),
    request: { params: timelinePathSchema },
    responses: {
      200: json('The events of the order applied so far', OrderTimeline),
      ...common,
      404: problem(
        'No event of this order has been applied yet (the timeline is eventually consistent: retry shortly), ' +
          'or, without sagas:operate, not an order the caller started',
      ),
      503: problem(
        "The order-history read model's database (or Temporal, for a caller's ownership) did not answer; retry later",
      ),
    },
  });
  const StockLevel = registry.register('StockLevel', stockLevelSchema.meta({ example: stockLevelExample }));
  registry.registerPath({
    method: 'get',
    path: '/stock/{sku}',
    operationId: 'getStock',
    tags: ['stock'],
    summary: 'Stock of one SKU: units available to orders and units on hand',
    description:
      'Asked of the inventory service through a short workflow (the API reaches no service database): ' +
      'available is what orders can still reserve, onHand includes the units reserved by sagas in flight.' +
      scopeNote('sagas:read'),
    ...needs('sagas:read'),
    request: { params: stockPathSchema },
    responses: {
      200: json('The SKU is stocked', StockLevel),
      ...common,
      404: problem('The SKU is not stocked'),
      503: problem('Temporal or the inventory service did not answer in time; retry later'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/sagas',
    operationId: 'listSagas',
    tags: ['sagas'],
    summary: 'List sagas, newest first, with filters and cursor pagination',
    description:
      'Reads Temporal visibility (seconds behind the sagas at worst). Filters combine with AND; pass ' +
      'nextCursor back as cursor for the next page. Without sagas:operate, only the sagas the caller ' +
      'started are listed.' +
      scopeNote('sagas:read'),
    ...needs('sagas:read'),
    request: { query: listSagasQuerySchema },
    responses: { 200: json('A page of sagas', ListSagasResponse), ...common },
  });
  registry.registerPath({
    method: 'get',
    path: '/sagas/{sagaId}',
    operationId: 'getSaga',
    tags: ['sagas'],
    summary: 'Get one saga: status, steps, attempts, errors, compensations, audit, Web UI link',
    description:
      'A running saga answers from its orchestrator (with the attempts, last error and next retry of a ' +
      'call Temporal is retrying); a finished one from its recorded result.' +
      scopeNote('sagas:read'),
    ...needs('sagas:read'),
    request: { params: sagaPath },
    responses: {
      200: json('The saga', SagaView),
      ...common,
      404: problem('No such saga (or, without sagas:operate, not one the caller started)'),
    },
  });
  for (const [action, operationId, summary, description, body, scope] of [
    [
      'cancel',
      'cancelSaga',
      'Cancel a running saga: it compensates what was done',
      'Accepted only while the saga runs forward: a step in flight ends first, then compensations run in ' +
        'reverse. Refused (409) once it is final, compensating, parked, or past its pivot.',
      undefined,
      'sagas:cancel',
    ],
    [
      'resume',
      'resumeSaga',
      'Retry the failed compensations of a parked saga (COMPENSATION_FAILED)',
      'For an operator, once the cause of the failed compensations (named in parkedReason) is fixed.',
      undefined,
      'sagas:operate',
    ],
    [
      'resolve',
      'resolveSaga',
      'Mark a parked saga resolved by hand, with a note',
      'For an operator who undid the remaining effects by hand: the pending compensations are abandoned ' +
        'for good and the note (with its author) is kept in the saga.',
      resolveRequestSchema,
      'sagas:operate',
    ],
  ] as const) {
    registry.registerPath({
      method: 'post',
      path: `/sagas/{sagaId}/${action}`,
      operationId,
      tags: ['operations'],
      summary: `${summary} (recorded in its audit: who and when)`,
      description: `${description}${scopeNote(scope)}`,
      ...needs(scope),
      request: {
        params: sagaPath,
        ...(body ? { body: { required: true, content: { 'application/json': { schema: body } } } } : {}),
      },
      responses: {
        [action === 'resolve' ? 200 : 202]: json('Accepted', OperatorActionResponse),
        ...common,
        404: problem('No such saga (or, without sagas:operate, not one the caller started)'),
        409: problem('The saga is not in a state that allows this (already final, compensating or parked)'),
        ...(body ? { 422: problem('Body invalid') } : {}),
      },
    });
  }
  registry.registerPath({
    method: 'get',
    path: '/health/live',
    operationId: 'getLiveness',
    tags: ['health'],
    summary: 'Liveness',
    description: 'The API process answers. Needs no credential.',
    responses: { 200: json('Alive', z.object({ status: z.literal('ok') })) },
  });
  registry.registerPath({
    method: 'get',
    path: '/health/ready',
    operationId: 'getReadiness',
    tags: ['health'],
    summary: 'Readiness: Temporal answers',
    description: 'The API reaches Temporal and can start and read sagas. Needs no credential.',
    responses: {
      200: json('Ready', z.object({ status: z.literal('ok'), temporal: z.string() })),
      503: problem('Temporal is not reachable'),
    },
  });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Saga API',
      version: '0.1.0',
      description:
        'Start, query, list, cancel and repair order sagas and the refunds of orders. Errors are application/problem+json (RFC 9457).',
      contact: { name: 'Saga maintainers' },
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'The API as `npm start` runs it' }],
    tags: [
      { name: 'sagas', description: 'Start, read and list sagas' },
      { name: 'orders', description: 'An order: its refund, its timeline of domain events' },
      { name: 'stock', description: 'Stock levels of the inventory service' },
      { name: 'operations', description: 'Cancel a saga; resume or resolve a parked one' },
      { name: 'health', description: 'Liveness and readiness probes' },
    ],
  });
}

/** Serves /openapi.json and an interactive docs page at /docs, from the local swagger-ui package (no CDN). */
export function openApiRouter(): Router {
  const document = buildOpenApiDocument();
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' } }),
  );
  return router;
}
