/**
 * The JSON Schema files of the domain events (docs/events), generated from their zod schemas
 * (shared/events.ts): one per event type and one of any event. `npm run events:schemas` writes them; a
 * unit test fails when they are stale.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from '../../shared/zod';
import { EVENT_SCHEMAS, EVENT_TYPES, domainEventSchema } from '../../shared/events';

export const EVENT_SCHEMA_DIR = path.resolve(__dirname, '../../docs/events');
const SUFFIX = '.schema.json';

/** File name -> content (generated, so Prettier leaves them alone: .prettierignore). */
export function renderEventSchemas(): Record<string, string> {
  const schemas: [string, z.ZodType][] = [
    ...EVENT_TYPES.map((type): [string, z.ZodType] => [type, EVENT_SCHEMAS[type]]),
    ['domain-event', domainEventSchema],
  ];
  const files: Record<string, string> = {};
  for (const [name, schema] of schemas) {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
    files[`${name}${SUFFIX}`] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return files;
}

/** The schema files now in docs/events. */
export function schemaFilesOnDisk(): string[] {
  return readdirSync(EVENT_SCHEMA_DIR).filter((file) => file.endsWith(SUFFIX));
}

if (require.main === module) {
  (async () => {
    const files = renderEventSchemas();
    for (const stale of schemaFilesOnDisk().filter((file) => !(file in files))) {
      rmSync(path.join(EVENT_SCHEMA_DIR, stale));
    }
    for (const [file, content] of Object.entries(files)) {
      writeFileSync(path.join(EVENT_SCHEMA_DIR, file), content);
    }
    console.log(`wrote ${Object.keys(files).length} event schemas to ${EVENT_SCHEMA_DIR}`);
  })().catch((error: unknown) => {
    console.error(`events:schemas failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
