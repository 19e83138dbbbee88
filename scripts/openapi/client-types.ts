import path from 'node:path';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';
import { format, resolveConfig } from 'prettier';
import { buildOpenApiDocument } from '../../api/openapi';

/** The committed types of the API client, generated from the document the API serves. */
export const clientTypesFile = path.resolve(__dirname, '../../api/client/openapi.d.ts');

/**
 * The TypeScript types openapi-typescript derives from the OpenAPI document, formatted with the project's
 * Prettier settings: what `npm run generate:client` writes.
 */
export async function renderClientTypes(): Promise<string> {
  // A plain JSON copy: what /openapi.json serves, without the generator's class instances.
  const document = JSON.parse(JSON.stringify(buildOpenApiDocument())) as OpenAPI3;
  const ast = await openapiTS(document, { silent: true });
  const header = COMMENT_HEADER.replace(
    'Do not make direct changes to the file.',
    'Do not make direct changes to the file: edit api/openapi.ts and run `npm run generate:client`.',
  );
  const options = await resolveConfig(clientTypesFile);
  return format(`${header}${astToString(ast)}`, { ...options, filepath: clientTypesFile });
}
