import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { z } from '../shared/zod';
import { orderRequestSchema } from '../shared/order';
import type { Scope } from '../shared/scopes';
import { problemSchema } from './problem';
import {
  idempotencyKeySchema,
  listSagasQuerySchema,
  listSagasResponseSchema,
  operatorActionResponseSchema,
  refundPathSchema,
  resolveRequestSchema,
  stockLevelSchema,
  stockPathSchema,
  sagaIdSchema,
  sagaViewSchema,
  startSagaQuerySchema,
  startSagaResponseSchema,
} from './schemas';

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (API_KEYS) or a JWT of the configured OIDC issuer. Each route needs the scope listed in ' +
      'its security requirement: sagas:start, sagas:read, sagas:cancel, sagas:operate. Without sagas:operate ' +
      'a caller sees, lists and cancels only the sagas it started (others are 404).',
  });
  const needs = (scope: Scope) => [{ [bearer.name]: [scope] }];
  const Problem = registry.register('Problem', problemSchema);
  const OrderRequest = registry.register('OrderRequest', orderRequestSchema);
  const SagaView = registry.register('Saga', sagaViewSchema);
  const StartSagaResponse = registry.register('StartSagaResponse', startSagaResponseSchema);
  const ListSagasResponse = registry.register('ListSagasResponse', listSagasResponseSchema);
  const OperatorActionResponse = registry.register('OperatorActionResponse', operatorActionResponseSchema);
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
    summary: 'Start an order saga',
    security: needs('sagas:start'),
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
    summary: 'Refund a completed order: starts its refund saga (one per order, id refund-<orderId>)',
    description:
      'The saga refunds the payment, cancels the shipment and marks the order REFUNDED. An order that is ' +
      'not refundable (its order saga did not complete, or it is unknown) is not refused here: its refund ' +
      'saga ends COMPENSATED with the reason, having changed nothing. A repeated request answers with the ' +
      'refund the first one started (200 once it is final). Read, list and cancel it under /sagas; a cancel ' +
      "once the payment refund has started is refused (409). Without sagas:operate, only the caller's own " +
      'orders can be refunded (another order is 404).',
    security: needs('sagas:start'),
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
  const StockLevel = registry.register('StockLevel', stockLevelSchema);
  registry.registerPath({
    method: 'get',
    path: '/stock/{sku}',
    summary: 'Stock of one SKU: units available to orders and units on hand (asked of the inventory service)',
    security: needs('sagas:read'),
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
    summary:
      'List sagas (Temporal visibility), newest first, with cursor pagination; without sagas:operate, only those the caller started',
    security: needs('sagas:read'),
    request: { query: listSagasQuerySchema },
    responses: { 200: json('A page of sagas', ListSagasResponse), ...common },
  });
  registry.registerPath({
    method: 'get',
    path: '/sagas/{sagaId}',
    summary: 'Get one saga: status, steps, attempts, errors, compensations, audit, Web UI link',
    security: needs('sagas:read'),
    request: { params: sagaPath },
    responses: {
      200: json('The saga', SagaView),
      ...common,
      404: problem('No such saga (or, without sagas:operate, not one the caller started)'),
    },
  });
  for (const [action, summary, body, scope] of [
    ['cancel', 'Cancel a running saga: it compensates what was done', undefined, 'sagas:cancel'],
    [
      'resume',
      'Retry the failed compensations of a parked saga (COMPENSATION_FAILED)',
      undefined,
      'sagas:operate',
    ],
    ['resolve', 'Mark a parked saga resolved by hand, with a note', resolveRequestSchema, 'sagas:operate'],
  ] as const) {
    registry.registerPath({
      method: 'post',
      path: `/sagas/{sagaId}/${action}`,
      summary: `${summary} (recorded in its audit: who and when)`,
      security: needs(scope),
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
    summary: 'Liveness',
    responses: { 200: json('Alive', z.object({ status: z.literal('ok') })) },
  });
  registry.registerPath({
    method: 'get',
    path: '/health/ready',
    summary: 'Readiness: Temporal answers',
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
    },
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
