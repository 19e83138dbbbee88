/**
 * `npm run lint:openapi`: Spectral's standard OpenAPI ruleset (spectral:oas, .spectral.yaml) on the
 * document the API serves, built from the same code; any warning fails, so generated clients keep
 * meaningful names (operationId), tags, descriptions and examples that match their schemas.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildOpenApiDocument } from '../../api/openapi';

const root = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'saga-openapi-'));
try {
  const file = path.join(dir, 'openapi.json');
  writeFileSync(file, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
  const spectral = path.join(root, 'node_modules', '.bin', 'spectral');
  const ruleset = path.join(root, '.spectral.yaml');
  const run = spawnSync(spectral, ['lint', file, '--ruleset', ruleset, '--fail-severity', 'warn'], {
    stdio: 'inherit',
  });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
