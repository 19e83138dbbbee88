import { createServer, type Server } from 'node:http';

/** A span as received over OTLP/HTTP JSON, flattened with the service that sent it. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** Wall time of the span in milliseconds, when the sender gave both ends. */
  durationMs?: number;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        startTimeUnixNano?: OtlpTime;
        endTimeUnixNano?: OtlpTime;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

/** Nanoseconds: a decimal string in OTLP/JSON, or {low, high} from exporters that send 64-bit halves. */
type OtlpTime = string | number | { low: number; high: number };
const nanos = (time: OtlpTime | undefined): bigint | undefined => {
  if (time === undefined) return undefined;
  if (typeof time === 'object') return (BigInt(time.high >>> 0) << 32n) + BigInt(time.low >>> 0);
  return BigInt(time);
};
const durationOf = (start?: OtlpTime, end?: OtlpTime) => {
  const [from, to] = [nanos(start), nanos(end)];
  return from !== undefined && to !== undefined ? Number(to - from) / 1e6 : undefined;
};

const valueOf = (value: OtlpValue) =>
  value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
const attributesOf = (list: OtlpAttribute[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

export interface OtlpReceiver {
  endpoint: string;
  /** Every span received so far (kept only when no onSpans callback is given). */
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

/**
 * A minimal OpenTelemetry collector: accepts OTLP/HTTP JSON on /v1/traces. Tests keep the spans in
 * memory to follow one trace through separate processes; `npm start` appends them to a file so that
 * `npm run trace -- <saga id>` works without any tracing backend installed.
 */
export async function startOtlpReceiver(
  options: { port?: number; host?: string; onSpans?: (spans: ReceivedSpan[]) => void } = {},
): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const keep = options.onSpans ?? ((received: ReceivedSpan[]) => spans.push(...received));
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415).end();
        return;
      }
      let body: OtlpRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const received: ReceivedSpan[] = [];
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            received.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              durationMs: durationOf(span.startTimeUnixNano, span.endTimeUnixNano),
              attributes: attributesOf(span.attributes),
            });
      }
      keep(received);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://${host}:${port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
