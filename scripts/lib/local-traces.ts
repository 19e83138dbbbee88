/**
 * Where the local stack's spans go, as `npm start` sets it up (and `npm run bench` measures it): without a
 * collector of one's own, a built-in OTLP receiver appends them to a file that `npm run trace` reads.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startOtlpReceiver } from '../../tools/traces/otlp-receiver';

export interface LocalTraces {
  /** What the workers and the API get in their environment to send their spans there. */
  env: Record<string, string>;
  /** One line for the start banner. */
  where: string;
  stop(): Promise<void>;
}

/** Whether the stack collects its own spans: no exporter or endpoint was chosen in the environment. */
export const collectsOwnTraces = (env: NodeJS.ProcessEnv) =>
  !env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_TRACES_EXPORTER;

export async function startLocalTraces(
  config: { OTLP_RECEIVER_PORT: number; TRACES_FILE: string },
  env: NodeJS.ProcessEnv,
): Promise<LocalTraces> {
  if (!collectsOwnTraces(env)) {
    const where = `${env.OTEL_TRACES_EXPORTER ?? 'otlp'} -> ${env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'stdout'}`;
    const tracingEnv: Record<string, string> = env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { OTEL_TRACES_EXPORTER: env.OTEL_TRACES_EXPORTER ?? 'otlp' }
      : {};
    return { env: tracingEnv, where, stop: async () => undefined };
  }
  mkdirSync(path.dirname(config.TRACES_FILE), { recursive: true });
  const receiver = await startOtlpReceiver({
    port: config.OTLP_RECEIVER_PORT,
    onSpans: (spans) =>
      spans.length > 0 &&
      appendFileSync(config.TRACES_FILE, spans.map((span) => `${JSON.stringify(span)}\n`).join('')),
  });
  return {
    env: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      // Spans leave each process within a second, so `npm run trace` right after a saga sees all of it.
      OTEL_BSP_SCHEDULE_DELAY: env.OTEL_BSP_SCHEDULE_DELAY ?? '1000',
    },
    where: `${path.relative(process.cwd(), config.TRACES_FILE)} (OTLP receiver ${receiver.endpoint}); npm run trace -- <saga id>`,
    stop: () => receiver.close(),
  };
}
