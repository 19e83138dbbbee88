import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { DEFAULT_ORDER_HISTORY_DATABASE_URL } from '../../shared/config';

// The URL is read with a default rather than env(), which throws when unset, even for `prisma generate`.
export default defineConfig({
  schema: path.join(__dirname, 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'migrations') },
  datasource: { url: process.env.ORDER_HISTORY_DATABASE_URL ?? DEFAULT_ORDER_HISTORY_DATABASE_URL },
});
