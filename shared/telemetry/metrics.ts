import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A process's Prometheus registry, with Node's default process metrics (CPU, memory, event loop, GC). */
export function createMetricsRegistry(processName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry });
  return registry;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type SagaOutcomeLabel = 'completed' | 'compensated' | 'compensation_failed' | 'resolved';

/** Saga lifecycle counters, counted by the orchestrator from its workflows (never twice on replay). */
export function sagaLifecycleMetrics(registry: Registry) {
  return {
    started: new Counter({
      name: 'saga_started_total',
      help: 'Sagas whose workflow started running',
      labelNames: ['saga'] as const,
      registers: [registry],
    }),
    outcomes: new Counter({
      name: 'saga_outcomes_total',
      help: 'Sagas reaching an outcome: completed, compensated, compensation_failed (parked), resolved',
      labelNames: ['saga', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

/** Latency of each step and compensation, measured where it runs: in its service's worker. */
export function sagaActivityMetrics(registry: Registry) {
  return {
    duration: new Histogram({
      name: 'saga_activity_duration_seconds',
      help: 'Duration of saga steps (kind="step") and compensations (kind="compensation"), per attempt',
      labelNames: ['service', 'activity', 'kind', 'result'] as const,
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'saga_activity_retries_total',
      help: 'Attempts of saga steps and compensations after the first (Temporal retried them)',
      labelNames: ['service', 'activity', 'kind'] as const,
      registers: [registry],
    }),
  };
}

/**
 * saga_parked{saga}: sagas parked in COMPENSATION_FAILED, waiting for an operator. Counted in Temporal
 * visibility at scrape time, at most once per `cacheMs` (several Prometheus replicas scrape the API); when
 * the count fails the gauge has no sample rather than a stale one, and the failure is counted.
 */
export function sagaParkedGauge(
  registry: Registry,
  countParked: () => Promise<Record<string, number>>,
  cacheMs = 10_000,
): void {
  if (registry.getSingleMetric('saga_parked')) return;
  const failures = new Counter({
    name: 'saga_parked_count_failures_total',
    help: 'Scrapes in which saga_parked could not be counted in Temporal visibility',
    registers: [registry],
  });
  let cached: { at: number; counts: Promise<Record<string, number>> } | undefined;
  new Gauge({
    name: 'saga_parked',
    help: 'Sagas parked in COMPENSATION_FAILED (a compensation gave up), waiting for an operator',
    labelNames: ['saga'] as const,
    registers: [registry],
    async collect() {
      if (!cached || Date.now() - cached.at >= cacheMs) cached = { at: Date.now(), counts: countParked() };
      const pending = cached;
      this.reset();
      try {
        for (const [saga, count] of Object.entries(await pending.counts)) this.set({ saga }, count);
      } catch {
        if (cached === pending) cached = undefined;
        failures.inc();
      }
    },
  });
}

/** What the outbox of a service holds that is not yet on the broker, as the database counts it. */
export interface OutboxBacklog {
  /** Unpublished rows. */
  rows: number;
  /** Age of the oldest unpublished row in seconds (the database's clock), 0 when none. */
  oldestSeconds: number;
}

/**
 * The outbox relay of a service worker (activities/shared/outbox-relay.ts). Backlog and lag are counted in
 * the service's database at scrape time, at most once per `cacheMs` for both gauges, so every replica
 * reports the same outbox whichever relay is active; when the database cannot answer they have no sample
 * rather than a stale one.
 */
export function outboxRelayMetrics(
  registry: Registry,
  service: string,
  readBacklog: () => Promise<OutboxBacklog>,
  cacheMs = 1000,
) {
  let cached: { at: number; backlog: Promise<OutboxBacklog> } | undefined;
  const current = () => {
    if (!cached || Date.now() - cached.at >= cacheMs) {
      const backlog = readBacklog();
      backlog.catch(() => undefined); // a failed count is seen by collect(); never an unhandled rejection
      cached = { at: Date.now(), backlog };
    }
    return cached.backlog;
  };
  const gauge = (name: string, help: string, value: (backlog: OutboxBacklog) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['service'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          this.set({ service }, value(await current()));
        } catch {
          cached = undefined;
        }
      },
    });
  gauge('saga_outbox_backlog', 'Domain events in the outbox not yet published to the broker', (b) => b.rows);
  gauge(
    'saga_outbox_lag_seconds',
    'Age of the oldest domain event not yet published to the broker (0 when none)',
    (b) => b.oldestSeconds,
  );
  return {
    published: new Counter({
      name: 'saga_outbox_published_total',
      help: 'Domain events the broker acknowledged and the relay marked published',
      labelNames: ['service'] as const,
      registers: [registry],
    }).labels({ service }),
    publishFailures: new Counter({
      name: 'saga_outbox_publish_failures_total',
      help: 'Publishes of a domain event the broker did not acknowledge (the relay retries them)',
      labelNames: ['service'] as const,
      registers: [registry],
    }).labels({ service }),
  };
}

/** A circuit breaker's state as its gauge reports it (Prometheus keeps numbers, not names). */
export const CIRCUIT_STATE_VALUES = { closed: 0, open: 1, half_open: 2 } as const;
export type CircuitStateName = keyof typeof CIRCUIT_STATE_VALUES;

type BreakerLabel = 'service' | 'dependency';
const BREAKER_LABELS: BreakerLabel[] = ['service', 'dependency'];

/**
 * The circuit breakers of a process, by the service that calls and the dependency it calls. Shared by
 * every breaker of the registry: each metric is registered once, each breaker has its own labels.
 */
export function circuitBreakerMetrics(registry: Registry) {
  const state =
    (registry.getSingleMetric('saga_circuit_breaker_state') as Gauge<BreakerLabel> | undefined) ??
    new Gauge({
      name: 'saga_circuit_breaker_state',
      help: 'Circuit breaker in front of a dependency: 0 closed, 1 open (calls fail fast), 2 half-open (one trial call)',
      labelNames: BREAKER_LABELS,
      registers: [registry],
    });
  const refused =
    (registry.getSingleMetric('saga_circuit_breaker_refused_total') as Counter<BreakerLabel> | undefined) ??
    new Counter({
      name: 'saga_circuit_breaker_refused_total',
      help: 'Calls the open circuit breaker refused without sending them to the dependency',
      labelNames: BREAKER_LABELS,
      registers: [registry],
    });
  return { state, refused };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics for a worker process (the API serves its own on its port). `extra` appends another
 * exposition text, the Temporal SDK core's, so one scrape covers the process.
 */
export async function startMetricsServer(options: {
  registry: Registry;
  host: string;
  port: number;
  extra?: () => Promise<string>;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    void Promise.all([options.registry.metrics(), options.extra?.().catch(() => '') ?? ''])
      .then(([own, extra]) => {
        res.writeHead(200, { 'content-type': options.registry.contentType }).end(`${own}\n${extra}`);
      })
      .catch(() => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${options.port} is in use (METRICS_PORT): stop what uses it or choose another`)
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
