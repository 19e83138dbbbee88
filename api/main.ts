/** The API process: `npm run api`. Configuration from the environment, validated before anything starts. */
import { apiConfigSchema, loadConfig, sagaConfigSchema, temporalConfigSchema } from '../shared/config';
import { createLogger } from '../shared/logger';
import { startApiServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig(
    temporalConfigSchema.extend(sagaConfigSchema.shape).extend(apiConfigSchema.shape),
  );
  const logger = createLogger('api', config.LOG_LEVEL);
  const api = await startApiServer(config, logger);
  logger.info({ url: api.url }, 'API listening');
  const stop = async () => {
    await api.close();
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
