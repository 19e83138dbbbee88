import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger } from 'pino';

/** Structured JSON logs on stdout; one logger per process, named after the process kind. */
export function createLogger(
  name: string,
  level: string = process.env.LOG_LEVEL ?? 'info',
  /** stdout unless given (tests read the lines back). */
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      name,
      level,
      base: { process: name },
      // Lines written inside a traced operation carry its trace id, so logs and traces join up.
      mixin() {
        const span = trace.getActiveSpan()?.spanContext();
        return span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : {};
      },
      // Payment tokens and addresses never belong in logs, even when an object carrying them is logged.
      redact: {
        paths: ['*.paymentToken', '*.shippingAddress', '*.address', 'paymentToken'],
        censor: '[redacted]',
      },
    },
    destination as DestinationStream,
  );
}
