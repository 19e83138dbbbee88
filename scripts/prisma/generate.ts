/** Generates each service's and read model's Prisma client (run by `npm ci` as postinstall). Works offline. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { READ_MODELS, SERVICES } from '../../shared/config';

const root = path.resolve(__dirname, '../..');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY:
    process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? path.join(__dirname, 'no-schema-engine.sh'),
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};

const schemas = [...SERVICES, ...READ_MODELS];
for (const service of schemas) {
  const result = spawnSync(
    path.join(root, 'node_modules', '.bin', 'prisma'),
    ['generate', '--config', path.join(root, 'prisma', service, 'prisma.config.ts')],
    { cwd: root, env, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    const reason = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').filter(Boolean).pop();
    console.error(
      `prisma generate failed for ${service}: ${reason ?? result.error?.message ?? 'unknown error'}`,
    );
    process.exit(1);
  }
}
console.log(`generated Prisma clients for ${schemas.join(', ')}`);
