import type { ReceivedSpan } from './otlp-receiver';

/** Spans from the root of the trace down, one per line, indented under their parent, with the process. */
export function renderTrace(spans: readonly ReceivedSpan[]): string {
  const ids = new Set(spans.map((span) => span.spanId));
  const roots = spans.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId));
  const lines: string[] = [];
  const visit = (span: ReceivedSpan, depth: number) => {
    const duration = span.durationMs === undefined ? '' : `  ${span.durationMs.toFixed(1)} ms`;
    const sql =
      typeof span.attributes['db.query.text'] === 'string' ? `  ${span.attributes['db.query.text']}` : '';
    lines.push(`${'  '.repeat(depth)}${span.name}  [${span.service}]${duration}${sql.slice(0, 90)}`);
    for (const child of spans.filter((s) => s.parentSpanId === span.spanId)) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return `${lines.join('\n')}\n`;
}

/** The spans of the trace that started with the API request creating the saga. */
export function traceOfSaga(spans: readonly ReceivedSpan[], sagaId: string): ReceivedSpan[] {
  const start = spans.find((span) => span.attributes['saga.id'] === sagaId && span.name === 'POST /sagas');
  return start ? spans.filter((span) => span.traceId === start.traceId) : [];
}
