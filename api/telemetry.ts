import express, { type RequestHandler, type Request } from 'express';
import promBundle from 'express-prom-bundle';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** The route template ("/sagas/:id"), never the raw path: bounded label values, no ids in metrics. */
export function routeOf(req: Request): string {
  return req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
}

/**
 * One server span per request, continuing a caller's trace (W3C traceparent) when one is sent; the
 * Temporal client interceptor makes the workflow start a child of it. Written here rather than with
 * the HTTP auto-instrumentation because that one patches modules through require hooks, which Jest's
 * module system bypasses, and the tests must see the same spans as production.
 */
export function tracingMiddleware(tracer: Tracer): RequestHandler {
  return (req, res, next) => {
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(
      `${req.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'url.path': req.path },
      },
      parent,
    );
    res.once('finish', () => {
      const route = routeOf(req);
      span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (typeof res.locals.sagaId === 'string') span.setAttribute('saga.id', res.locals.sagaId);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

/** Request count, errors (by status code) and latency per route, for Prometheus. */
export function httpMetricsMiddleware(registry: Registry): RequestHandler {
  return promBundle({
    autoregister: false,
    promRegistry: registry,
    includeMethod: true,
    includePath: true,
    includeStatusCode: true,
    // Its own `up` gauge would shadow the `up` Prometheus records per target (the rules use that one).
    includeUp: false,
    normalizePath: (req) => routeOf(req as Request),
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 35],
  });
}

/** GET /metrics: open like /health, so Prometheus needs no API key; it holds no customer data. */
export function metricsRouter(registry: Registry): express.Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

/** One log line per request, with the saga id and trace id when the request concerns a saga. */
export function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    // Only what identifies the request: headers carry API keys, bodies carry tokens and addresses.
    serializers: {
      req: (req: { method: string; url: string }) => ({ method: req.method, path: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customProps: (_req, res) => {
      const { sagaId, runId } = (res as { locals?: { sagaId?: unknown; runId?: unknown } }).locals ?? {};
      return {
        ...(typeof sagaId === 'string' ? { sagaId, workflowId: sagaId } : {}),
        ...(typeof runId === 'string' ? { runId } : {}),
      };
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    quietReqLogger: true,
    // Probes and scrapes every few seconds would drown the lines about sagas.
    autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
  });
}
