/** The API process: `npm run api`. Configuration from the environment, validated before anything starts. */
import {
  apiConfigSchema,
  jwtConfigSchema,
  loadConfig,
  orderHistoryDatabaseConfigSchema,
  sagaConfigSchema,
  telemetryConfigSchema,
  temporalConfigSchema,
} from '../shared/config';
import { codecConfigSchema, encryptingDataConverter } from '../shared/encryption/config';
import { createLogger } from '../shared/logger';
import { createMetricsRegistry } from '../shared/telemetry/metrics';
import { startTracing } from '../shared/telemetry/tracing';
import { startApiServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig(
    temporalConfigSchema
      .extend(sagaConfigSchema.shape)
      .extend(apiConfigSchema.shape)
      .extend(orderHistoryDatabaseConfigSchema.shape)
      .extend(telemetryConfigSchema.shape),
  );
  const jwt = loadConfig(jwtConfigSchema);
  const dataConverter = encryptingDataConverter(loadConfig(codecConfigSchema));
  const logger = createLogger('api', config.LOG_LEVEL);
  const tracing = startTracing({ serviceName: 'saga-api', config });
  const metrics = createMetricsRegistry('api');
  const api = await startApiServer({ ...config, jwt }, logger, { tracing, metrics, dataConverter });
  logger.info({ url: api.url, metrics: `${api.url}/metrics`, tokenIssuer: jwt?.issuer }, 'API listening');
  const stop = async () => {
    await api.close();
    await tracing.shutdown();
    logger.info('API stopped');
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`api failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
