import express, { type Express, type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Tracer } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { authFailureLimiter, authenticate, createAuthenticator, type ApiKeyOption } from './auth';
import type { JwtConfig } from '../shared/config';
import { HttpProblem, finalHandlers, sendProblem } from './problem';
import { openApiRouter } from './openapi';
import { healthRouter } from './routes/health';
import { refundsRouter } from './routes/refunds';
import { sagasRouter } from './routes/sagas';
import { stockRouter } from './routes/stock';
import { timelineRouter } from './routes/timeline';
import type { OrderTimelines } from './order-timelines';
import type { SagaService } from './saga-service';
import { sagaParkedGauge } from '../shared/telemetry/metrics';
import { httpMetricsMiddleware, metricsRouter, requestLogger, tracingMiddleware } from './telemetry';

export interface AppOptions {
  client: Client;
  namespace: string;
  sagas: SagaService;
  /** The order-history read model GET /orders/{orderId}/timeline reads; without it that route is 503. */
  timelines?: OrderTimelines;
  /** API keys; a bare string is a key with every scope. */
  apiKeys: readonly ApiKeyOption[];
  /** Bearer tokens (JWTs) of an OIDC issuer, accepted besides the API keys when set. */
  jwt?: JwtConfig;
  readOpen: boolean;
  rateLimitPerMinute: number;
  /** Reverse proxies trusted to name the client (Express's `trust proxy`); none by default. */
  trustProxy?: number | string[];
  maxBodyBytes: number;
  logger: Logger;
  /** Server spans for every request; the API's saga starts continue them into Temporal. */
  tracer?: Tracer;
  /** Served on GET /metrics, with per-route request metrics. */
  metrics?: Registry;
  /** Extra routers mounted before the saga routes (documentation, metrics). */
  extras?: express.Router[];
}

/** The HTTP API: thin, validated, authenticated; it talks to Temporal only. */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);

  if (options.tracer) app.use(tracingMiddleware(options.tracer));
  app.use(requestLogger(options.logger));
  if (options.metrics) {
    app.use(httpMetricsMiddleware(options.metrics));
    app.use(metricsRouter(options.metrics));
    sagaParkedGauge(options.metrics, () => options.sagas.countParked());
  }
  app.use(healthRouter(options.client, options.namespace));
  app.use(openApiRouter());
  for (const extra of options.extras ?? []) app.use(extra);

  app.use(requireJsonBody);
  app.use(express.json({ limit: options.maxBodyBytes, strict: true, type: 'application/json' }));
  // Refused credentials count against the client's address before they are checked (guessing is
  // limited too); accepted ones against their identity below.
  app.use(authFailureLimiter(options.rateLimitPerMinute));
  app.use(
    authenticate(createAuthenticator({ apiKeys: options.apiKeys, jwt: options.jwt }), {
      readOpen: options.readOpen,
    }),
  );
  app.use(
    rateLimit({
      windowMs: 60_000,
      limit: options.rateLimitPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: (req) => req.principal?.id ?? 'anonymous',
      handler: (req, res, _next, limiterOptions) => {
        res.set('Retry-After', String(Math.ceil(limiterOptions.windowMs / 1000)));
        sendProblem(
          res,
          new HttpProblem(429, 'rate-limited', 'too many requests for this API key or identity'),
          req.originalUrl,
        );
      },
    }),
  );
  app.use(sagasRouter(options.sagas, options.logger));
  app.use(refundsRouter(options.sagas));
  app.use(stockRouter(options.sagas));
  app.use(timelineRouter(options.sagas, options.timelines));

  app.use(...finalHandlers(options.logger));
  return app;
}

/** Bodies must be JSON: anything else is refused before parsing, so nothing starts by accident. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    return next(new HttpProblem(415, 'unsupported-media-type', 'request bodies must be application/json'));
  }
  next();
};
