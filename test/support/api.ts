import type { Tracer } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createApp } from '../../api/app';
import { createSagaClient, type SagaClient } from '../../api/client';
import type { ApiKeyOption } from '../../api/auth';
import type { OrderTimelines } from '../../api/order-timelines';
import type { JwtConfig } from '../../shared/config';
import { SagaService } from '../../api/saga-service';
import { listen, type Listening } from './listen';
import { openApiConformance } from './openapi-conformance';
import type { Stack } from './stack';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

/** The real Express app, wired to the real Temporal server through the stack's client and task queues. */
type TestAppOverrides = {
  rateLimitPerMinute?: number;
  trustProxy?: number | string[];
  readOpen?: boolean;
  tracer?: Tracer;
  metrics?: Registry;
  logger?: Logger;
  settings?: Stack['settings'];
  client?: Stack['client'];
  /** Default: TEST_API_KEY, with every scope. */
  apiKeys?: readonly ApiKeyOption[];
  jwt?: JwtConfig;
  /** The order-history read model (default: none, the timeline route answers 503). */
  timelines?: OrderTimelines;
};

export function createTestApp(stack: Stack, overrides: TestAppOverrides = {}) {
  const sagas = new SagaService({
    client: overrides.client ?? stack.client,
    namespace: 'default',
    orchestratorTaskQueue: stack.queues.orchestrator,
    settings: overrides.settings ?? stack.settings,
    webUiUrl: 'http://127.0.0.1:8233',
    apiBase: '',
  });
  return createApp({
    client: overrides.client ?? stack.client,
    namespace: 'default',
    sagas,
    timelines: overrides.timelines,
    apiKeys: overrides.apiKeys ?? [TEST_API_KEY],
    jwt: overrides.jwt,
    readOpen: overrides.readOpen ?? false,
    rateLimitPerMinute: overrides.rateLimitPerMinute ?? 100_000,
    trustProxy: overrides.trustProxy,
    maxBodyBytes: 32_768,
    logger: overrides.logger ?? pino({ level: 'silent' }),
    tracer: overrides.tracer,
    metrics: overrides.metrics,
  });
}

const conformance = openApiConformance();
/** The operation, status and content type of every response a test client received and checked. */
export const conformanceChecked: readonly string[] = conformance.checked;
/** The check itself, for a client the tests do not create (the fuzzer's). */
export const conformanceMiddleware = conformance.middleware;

/** The typed API client of the tests: every response it receives is checked against the OpenAPI document. */
export function testClient(baseUrl: string, token?: string): SagaClient {
  return createSagaClient({ baseUrl, token, middleware: [conformance.middleware] });
}

export interface TestApi extends Listening {
  /** As TEST_API_KEY (every scope, unless apiKeys says otherwise). */
  api: SagaClient;
  /** As another caller (an API key or a JWT), or anonymous without one. */
  as(token?: string): SagaClient;
}

const served = new Set<Listening>();

/** The real app (createTestApp) listening on a free local port, with clients that talk to it over HTTP. */
export async function serveTestApp(stack: Stack, overrides: TestAppOverrides = {}): Promise<TestApi> {
  const server = await listen(createTestApp(stack, overrides));
  served.add(server);
  const as = (token?: string) => testClient(server.url, token);
  return {
    url: server.url,
    close: async () => {
      served.delete(server);
      await server.close();
    },
    api: as(TEST_API_KEY),
    as,
  };
}

/** Closes every app serveTestApp started and the test did not close (for afterAll). */
export async function closeTestApps(): Promise<void> {
  await Promise.all([...served].map((server) => server.close()));
  served.clear();
}
