/** The codec server process: `npm run codec-server`. The Web UI and operators decrypt payloads through it. */
import {
  apiConfigSchema,
  codecServerConfigSchema,
  jwtConfigSchema,
  loadConfig,
  temporalConfigSchema,
} from '../shared/config';
import { codecConfigSchema, payloadCodecFromConfig } from '../shared/encryption/config';
import { createLogger } from '../shared/logger';
import { createServer } from '../shared/http-server';
import { createCodecServerApp } from './app';

async function main(): Promise<void> {
  const config = loadConfig(
    codecServerConfigSchema
      .extend({
        API_KEYS: apiConfigSchema.shape.API_KEYS,
        API_RATE_LIMIT_PER_MINUTE: apiConfigSchema.shape.API_RATE_LIMIT_PER_MINUTE,
      })
      .extend({ LOG_LEVEL: temporalConfigSchema.shape.LOG_LEVEL }),
  );
  const jwt = loadConfig(jwtConfigSchema);
  const codec = payloadCodecFromConfig(loadConfig(codecConfigSchema));
  const logger = createLogger('codec-server', config.LOG_LEVEL);
  const app = createCodecServerApp({
    codec,
    apiKeys: config.API_KEYS,
    jwt,
    authFailuresPerMinute: config.API_RATE_LIMIT_PER_MINUTE,
    allowedOrigins: config.CODEC_SERVER_CORS_ORIGINS,
    loginAttemptsPerMinute: config.CODEC_SERVER_LOGIN_PER_MINUTE,
    trustProxy: config.CODEC_SERVER_TRUST_PROXY,
    logger,
  });
  const { server, scheme } = createServer(app, {
    certFile: config.CODEC_SERVER_TLS_CERT_FILE,
    keyFile: config.CODEC_SERVER_TLS_KEY_FILE,
    variables: ['CODEC_SERVER_TLS_CERT_FILE', 'CODEC_SERVER_TLS_KEY_FILE'],
  });
  server.listen(config.CODEC_SERVER_PORT, config.CODEC_SERVER_HOST, () =>
    logger.info(
      { url: `${scheme}://${config.CODEC_SERVER_HOST}:${config.CODEC_SERVER_PORT}` },
      'codec server listening',
    ),
  );
  server.once('error', (error: NodeJS.ErrnoException) => {
    console.error(
      `codec-server failed: ${error.code === 'EADDRINUSE' ? `port ${config.CODEC_SERVER_PORT} is in use (CODEC_SERVER_PORT)` : error.message}`,
    );
    process.exit(1);
  });
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`codec-server failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
