/** The codec server process: `npm run codec-server`. The Web UI and operators decrypt payloads through it. */
import { apiConfigSchema, loadConfig } from '../shared/config';
import { codecConfigSchema, payloadCodecFromConfig } from '../shared/encryption/config';
import { createLogger } from '../shared/logger';
import { z } from '../shared/zod';
import { createCodecServerApp } from './app';

export const codecServerConfigSchema = z.object({
  CODEC_SERVER_HOST: z.string().trim().min(1).default('127.0.0.1'),
  CODEC_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(8888),
  /** Web UI origins allowed to call it from the browser. */
  CODEC_SERVER_CORS_ORIGINS: z
    .string()
    .default('http://127.0.0.1:8233,http://localhost:8233')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url()).min(1)),
  API_KEYS: apiConfigSchema.shape.API_KEYS,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

async function main(): Promise<void> {
  const config = loadConfig(codecServerConfigSchema);
  const codec = payloadCodecFromConfig(loadConfig(codecConfigSchema));
  const logger = createLogger('codec-server', config.LOG_LEVEL);
  const app = createCodecServerApp({
    codec,
    apiKeys: config.API_KEYS,
    allowedOrigins: config.CODEC_SERVER_CORS_ORIGINS,
    logger,
  });
  const server = app.listen(config.CODEC_SERVER_PORT, config.CODEC_SERVER_HOST, () =>
    logger.info(
      { url: `http://${config.CODEC_SERVER_HOST}:${config.CODEC_SERVER_PORT}` },
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
