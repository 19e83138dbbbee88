/**
 * `npm run generate:client`: writes api/client/openapi.d.ts, the types of the API client, from the OpenAPI
 * document built by api/openapi.ts. With --stdout it prints them instead (the staleness test compares that
 * with the committed file: openapi-typescript is an ES module dependency, which Jest cannot load).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { clientTypesFile, renderClientTypes } from './client-types';

void renderClientTypes().then((source) => {
  if (process.argv.includes('--stdout')) {
    process.stdout.write(source);
    return;
  }
  writeFileSync(clientTypesFile, source);
  console.log(`wrote ${path.relative(process.cwd(), clientTypesFile)}`);
});
