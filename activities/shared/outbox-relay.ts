import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { backOff } from 'exponential-backoff';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  connectEventBus,
  encodeEvent,
  ensureStream,
  subjectOf,
  type EventBusConfig,
} from '../../shared/event-bus';
import { outboxRelayMetrics, type OutboxBacklog } from '../../shared/telemetry/metrics';
import { outboxRowToEvent, type OutboxRow, type RawSqlTx } from './outbox';

/**
 * The outbox relay: publishes a service's OutboxEvent rows (activities/shared/outbox.ts) to the JetStream
 * stream of shared/event-bus.ts and marks them published. It runs inside the service's worker process,
 * on the worker's own database client, and never stops it: a broker or database failure is logged in one
 * line and the pass is retried with a growing delay.
 *
 * One pass is one transaction: an advisory lock of the service's outbox (only one relay per database
 * publishes; the other replicas' passes find it taken and idle), a batch of unpublished rows oldest
 * first, each published with the event id as the message id and its PubAck awaited before the next,
 * stopping at the first failure, then the acknowledged rows marked. So each aggregate's events reach the
 * stream in sequence order, and a relay that dies between a publish and its mark publishes the same ids
 * again, which the broker drops within its duplicate window.
 *
 * An idle relay looks for unpublished rows with one query before it opens a pass's transaction. Its
 * queries are never traced: five passes a second per service were most of the spans an idle `npm start`
 * exported (1,800 a minute, measured); the relay reports through its metrics instead.
 */

/** Both the Prisma client of a service (the pass's transaction) and its transaction client. */
export interface OutboxDb extends RawSqlTx {
  $transaction<R>(
    fn: (tx: OutboxTx) => Promise<R>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<R>;
}
interface OutboxTx extends RawSqlTx {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

export interface OutboxRelayOptions {
  /** The service whose outbox this is: the metrics' label and the name of its advisory lock. */
  service: string;
  db: OutboxDb;
  bus: EventBusConfig;
  metrics: Registry;
  log: Logger;
}

export interface OutboxRelay {
  /** Ends the pass in flight (its transaction commits or rolls back), then closes the broker connection. */
  stop(): Promise<void>;
}

const BATCH_SIZE = 100;
/** How soon an idle relay looks again: the usual delay between an effect's commit and its event. */
const IDLE_POLL_MS = 200;
const PUBLISH_TIMEOUT_MS = 5000;
/** A full batch takes milliseconds; this bounds a pass stuck on a slow broker (its rows are retried). */
const PASS_TIMEOUT_MS = 60_000;
const RETRY = { startingDelay: 500, maxDelay: 5000, jitter: 'full' } as const;

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { service, db, bus, log } = options;
  const lockName = `saga.outbox-relay.${service}`;
  const metrics = outboxRelayMetrics(options.metrics, service, () => untraced(() => readBacklog(db)));

  let stopping = false;
  let connection: NatsConnection | undefined;
  let streamEnsured = false;
  let failing = false;
  let wake = () => undefined as void;

  async function broker(): Promise<JetStreamClient> {
    if (connection?.isClosed()) connection = undefined;
    connection ??= await connectEventBus(bus, `outbox-relay-${service}`);
    if (!streamEnsured) {
      await ensureStream(connection, bus);
      streamEnsured = true;
    }
    return jetstream(connection, { timeout: PUBLISH_TIMEOUT_MS });
  }

  /** Publishes one batch; true when it was full (more are waiting). */
  async function pass(): Promise<boolean> {
    if (stopping || !(await pending(db))) return false;
    const js = await broker();
    const outcome = await db.$transaction(
      async (tx) => {
        const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`
          SELECT pg_try_advisory_xact_lock(hashtext(${lockName})) AS locked`;
        if (!lock?.locked) return { acked: 0, full: false };
        const rows = await tx.$queryRaw<OutboxRow[]>`
          SELECT "id", "type", "aggregateType", "aggregateId", "sequence", "occurredAt", "sagaId", "payload"
          FROM "OutboxEvent" WHERE "publishedAt" IS NULL
          ORDER BY "occurredAt", "sequence", "id" LIMIT ${BATCH_SIZE}`;
        const acked: string[] = [];
        let failure: unknown;
        for (const row of rows) {
          const event = outboxRowToEvent(row); // encodeEvent validates it against its type's schema
          try {
            // A duplicate ack (the id was stored before) counts as published: that is the point of it.
            await js.publish(subjectOf(bus, event), encodeEvent(event), {
              msgID: event.id,
              timeout: PUBLISH_TIMEOUT_MS,
            });
          } catch (error) {
            failure = error;
            break; // the rest waits: nothing of an aggregate overtakes its unpublished predecessor
          }
          acked.push(event.id);
        }
        if (acked.length > 0) {
          await tx.$executeRaw`
            UPDATE "OutboxEvent" SET "publishedAt" = now() WHERE "id" = ANY(${acked}::uuid[])`;
        }
        return { acked: acked.length, full: rows.length === BATCH_SIZE && !failure, failure };
      },
      { maxWait: 10_000, timeout: PASS_TIMEOUT_MS },
    );
    metrics.published.inc(outcome.acked);
    if (outcome.failure !== undefined) {
      metrics.publishFailures.inc();
      streamEnsured = false; // a broker that lost its store has no stream: make it again
      throw new Error(`publish to ${bus.NATS_URL} failed: ${firstLine(outcome.failure)}`);
    }
    if (failing) log.info(`outbox relay: publishing again`);
    failing = false;
    return outcome.full;
  }

  async function run(): Promise<void> {
    while (!stopping) {
      const full = await backOff(() => untraced(pass), {
        ...RETRY,
        numOfAttempts: Number.MAX_SAFE_INTEGER,
        retry: (error: unknown, attempt: number) => {
          if (stopping) return false;
          failing = true;
          log.warn(`outbox relay: ${firstLine(error)}; retrying (attempt ${attempt})`);
          return true;
        },
      }).catch(() => false);
      if (full || stopping) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, IDLE_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  const running = run();
  return {
    async stop() {
      stopping = true;
      wake();
      await running;
      await connection?.close().catch(() => undefined);
    },
  };
}

/** Runs `fn` with tracing suppressed: no span is recorded for anything it does, Prisma's queries included. */
function untraced<T>(fn: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(context.active()), fn);
}

/** Whether any row waits (the partial index of unpublished rows answers it). */
async function pending(db: RawSqlTx): Promise<boolean> {
  const [row] = await db.$queryRaw<{ pending: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM "OutboxEvent" WHERE "publishedAt" IS NULL) AS "pending"`;
  return row?.pending === true;
}

async function readBacklog(db: RawSqlTx): Promise<OutboxBacklog> {
  const [row] = await db.$queryRaw<{ rows: number; oldest: number }[]>`
    SELECT count(*)::int AS "rows",
           COALESCE(EXTRACT(EPOCH FROM now() - min("occurredAt")), 0)::float8 AS "oldest"
    FROM "OutboxEvent" WHERE "publishedAt" IS NULL`;
  return { rows: Number(row?.rows ?? 0), oldestSeconds: Math.max(0, Number(row?.oldest ?? 0)) };
}
