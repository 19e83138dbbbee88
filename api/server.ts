import { Client, Connection } from '@temporalio/client';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { DataConverter } from '@temporalio/common';
import type { Registry } from 'prom-client';
import { clientInterceptors, type Tracing } from '../shared/telemetry/tracing';
import type { ApiConfig, JwtConfig, SagaConfig, TemporalConfig } from '../shared/config';
import { sagaSettingsFromConfig } from '../shared/saga-settings';
import { taskQueues } from '../shared/task-queues';
import {
  connectOrExplain,
  describeTransport,
  temporalConnectionOptions,
} from '../shared/temporal-connection';
import { createServer } from '../shared/http-server';
import { createApp } from './app';
import { SagaService } from './saga-service';
import { orderTimelinesFrom } from './order-timelines';

export type ApiServerConfig = TemporalConfig &
  SagaConfig &
  ApiConfig & {
    jwt?: JwtConfig;
    /** The order-history read model's database; unset, GET /orders/{orderId}/timeline answers 503. */
    ORDER_HISTORY_DATABASE_URL?: string;
  };

export interface ApiServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Connects to Temporal, builds the app and listens; used by api/main.ts and by tests. */
export interface ApiTelemetry {
  tracing?: Tracing;
  metrics?: Registry;
  dataConverter?: DataConverter;
}

export async function startApiServer(
  config: ApiServerConfig,
  logger: Logger,
  telemetry: ApiTelemetry = {},
): Promise<ApiServer> {
  const connectionOptions = temporalConnectionOptions(config);
  const connection = await connectOrExplain(
    config.TEMPORAL_ADDRESS,
    () => Connection.connect(connectionOptions),
    describeTransport(connectionOptions),
  );
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: telemetry.dataConverter,
    interceptors: clientInterceptors(telemetry.tracing),
  });
  const queues = taskQueues(config.TASK_QUEUE_PREFIX);
  const sagas = new SagaService({
    client,
    namespace: config.TEMPORAL_NAMESPACE,
    orchestratorTaskQueue: queues.orchestrator,
    settings: sagaSettingsFromConfig(config, config.TASK_QUEUE_PREFIX),
    webUiUrl: config.TEMPORAL_UI_URL,
    apiBase: '',
  });
  const timelines = config.ORDER_HISTORY_DATABASE_URL
    ? orderTimelinesFrom(config.ORDER_HISTORY_DATABASE_URL, logger)
    : undefined;
  const app = createApp({
    client,
    namespace: config.TEMPORAL_NAMESPACE,
    sagas,
    timelines,
    apiKeys: config.API_KEYS,
    jwt: config.jwt,
    readOpen: config.API_READ_OPEN,
    rateLimitPerMinute: config.API_RATE_LIMIT_PER_MINUTE,
    trustProxy: config.API_TRUST_PROXY,
    maxBodyBytes: config.API_MAX_BODY_BYTES,
    logger,
    tracer: telemetry.tracing?.enabled ? telemetry.tracing.tracer : undefined,
    metrics: telemetry.metrics,
  });
  const { server: created, scheme } = createServer(app, {
    certFile: config.API_TLS_CERT_FILE,
    keyFile: config.API_TLS_KEY_FILE,
    variables: ['API_TLS_CERT_FILE', 'API_TLS_KEY_FILE'],
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = created.listen(config.API_PORT, config.API_HOST, () => resolve(listening));
    listening.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${config.API_PORT} is in use (API_PORT): stop what uses it or choose another port`,
            )
          : error,
      ),
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  return {
    url: `${scheme}://${config.API_HOST}:${port}`,
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await timelines?.close();
      await connection.close();
    },
  };
}
