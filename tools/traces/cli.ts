/**
 * `npm run trace -- <saga id>`: prints the trace of a saga from the spans `npm start` collected in
 * .data/traces/spans.jsonl (its built-in OTLP receiver), from the API request down to each database query.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ReceivedSpan } from './otlp-receiver';
import { renderTrace, traceOfSaga } from './tree';

export const DEFAULT_SPANS_FILE = path.resolve(__dirname, '../../.data/traces/spans.jsonl');

function main(): void {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { file: { type: 'string', default: DEFAULT_SPANS_FILE } },
  });
  const [sagaId] = positionals;
  if (!sagaId || positionals.length > 1)
    throw new Error('usage: npm run trace -- <saga id> [--file spans.jsonl]');
  if (!existsSync(values.file))
    throw new Error(`${values.file} does not exist: start the stack with npm start`);
  const spans = readFileSync(values.file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ReceivedSpan);
  const trace = traceOfSaga(spans, sagaId);
  if (trace.length === 0) throw new Error(`no trace for saga ${sagaId} in ${values.file}`);
  process.stdout.write(`trace ${trace[0]?.traceId}\n${renderTrace(trace)}`);
}

try {
  main();
} catch (error) {
  console.error(`trace: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
