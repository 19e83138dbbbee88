import path from 'node:path';
import { z } from '../../shared/zod';
import { appConfigSchema, temporalConfigSchema } from '../../shared/config';
import type { DevServerOptions } from '../temporal/dev-server';
import { splitHostPort } from './ports';

/** Settings of the local Temporal dev server (`npm run temporal`, `npm start`). */
export const devServerConfigSchema = temporalConfigSchema.extend({
  /** Holds temporal.sqlite (the server's state, kept across restarts) and temporal.log. */
  TEMPORAL_DATA_DIR: z
    .string()
    .trim()
    .min(1)
    .default(path.resolve(__dirname, '../../.data/temporal'))
    .transform((dir) => path.resolve(dir)),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
});

/** Settings of the whole local stack `npm start` runs: the application's own plus the dev server's. */
export const localStackConfigSchema = appConfigSchema.extend(devServerConfigSchema.shape);

export type DevServerConfig = z.infer<typeof devServerConfigSchema>;

/** Only for the local stack: a key so the README's curl examples work out of the box. Never used elsewhere. */
export const LOCAL_DEV_API_KEY = 'local-dev-key-not-secret';

/** The dev server these settings describe: its SQLite file and log in TEMPORAL_DATA_DIR. */
export function localDevServerOptions(config: DevServerConfig): DevServerOptions {
  const { host, port } = splitHostPort(config.TEMPORAL_ADDRESS);
  return {
    ip: host,
    port,
    uiPort: config.TEMPORAL_UI_PORT,
    namespace: config.TEMPORAL_NAMESPACE,
    dbFile: path.join(config.TEMPORAL_DATA_DIR, 'temporal.sqlite'),
    logFile: path.join(config.TEMPORAL_DATA_DIR, 'temporal.log'),
  };
}
