import type { Tracer } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createApp } from '../../api/app';
import type { ApiKeyOption } from '../../api/auth';
import type { JwtConfig } from '../../shared/config';
import { SagaService } from '../../api/saga-service';
import type { Stack } from './stack';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

/** The real Express app, wired to the real Temporal server through the stack's client and task queues. */
export function createTestApp(
  stack: Stack,
  overrides: {
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
  } = {},
) {
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

export const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
