import { z } from '../zod';

/** Where traces go and where a process serves its Prometheus metrics. */
export const telemetryConfigSchema = z.object({
  /** otlp: OTLP over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318); console; none. */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none']).default('none'),
  /** Host the /metrics endpoint binds to. */
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Port of a worker's /metrics; 0 picks a free one (replicas on one host), logged at start-up. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
});

export type TelemetryConfig = z.infer<typeof telemetryConfigSchema>;
