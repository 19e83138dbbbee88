import pino from 'pino';
import { createApp } from '../../api/app';
import { SagaService } from '../../api/saga-service';
import type { Stack } from './stack';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

/** The real Express app, wired to the real Temporal server through the stack's client and task queues. */
export function createTestApp(
  stack: Stack,
  overrides: { rateLimitPerMinute?: number; readOpen?: boolean } = {},
) {
  const sagas = new SagaService({
    client: stack.client,
    namespace: 'default',
    orchestratorTaskQueue: stack.queues.orchestrator,
    settings: stack.settings,
    webUiUrl: 'http://127.0.0.1:8233',
    apiBase: '',
  });
  return createApp({
    client: stack.client,
    namespace: 'default',
    sagas,
    apiKeys: [TEST_API_KEY],
    readOpen: overrides.readOpen ?? false,
    rateLimitPerMinute: overrides.rateLimitPerMinute ?? 100_000,
    maxBodyBytes: 32_768,
    logger: pino({ level: 'silent' }),
  });
}

export const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
