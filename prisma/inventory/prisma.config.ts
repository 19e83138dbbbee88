import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { DEFAULT_DATABASE_URLS } from '../../shared/config';

// The URL is read with a default rather than env(), which throws when unset, even for `prisma generate`.
export default defineConfig({
  schema: path.join(__dirname, 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'migrations') },
  datasource: { url: process.env.INVENTORY_DATABASE_URL ?? DEFAULT_DATABASE_URLS.inventory },
});
