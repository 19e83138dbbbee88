import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { z } from './zod';
import { domainEventSchema, type DomainEvent } from './events';

/**
 * How domain events travel from the services' outboxes to their consumers: one JetStream stream, one
 * subject per event type under a prefix, the event id as the message id (JetStream drops a second publish
 * of it within the duplicate window) and the event's JSON as the body. The relays publish with it
 * (activities/shared/outbox-relay.ts), the read models consume with it.
 */

const token = /^[A-Za-z0-9_-]+$/;

/** The NATS server(s) with JetStream, comma-separated. */
export const natsUrlSchema = z
  .string()
  .trim()
  .regex(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, 'must be nats://host:port[,nats://...]');

export const eventBusConfigSchema = z.object({
  NATS_URL: natsUrlSchema.default('nats://127.0.0.1:4222'),
  /** The JetStream stream of the domain events (created by the first relay that finds none). */
  EVENTS_STREAM: z
    .string()
    .regex(token, 'may contain only letters, digits, "_" and "-"')
    .default('SAGA_EVENTS'),
  /** Subjects are `<prefix>.<event type>`, e.g. saga.events.order.created. */
  EVENTS_SUBJECT_PREFIX: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
      'must be dot-separated tokens of letters, digits, "_" and "-"',
    )
    .default('saga.events'),
});
export type EventBusConfig = z.infer<typeof eventBusConfigSchema>;

/**
 * Longer than any restart of a relay between its publish and its mark, so that republish is dropped by
 * the broker; a consumer still applies idempotently (by event id) whatever comes later.
 */
export const DUPLICATE_WINDOW_MS = 60 * 60_000;

export function subjectOf(config: Pick<EventBusConfig, 'EVENTS_SUBJECT_PREFIX'>, event: DomainEvent): string {
  return `${config.EVENTS_SUBJECT_PREFIX}.${event.type}`;
}

/** Everything under the prefix: what the stream captures and what a consumer of all events filters on. */
export function allSubjects(config: Pick<EventBusConfig, 'EVENTS_SUBJECT_PREFIX'>): string {
  return `${config.EVENTS_SUBJECT_PREFIX}.>`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeEvent(event: DomainEvent): Uint8Array {
  return encoder.encode(JSON.stringify(domainEventSchema.parse(event)));
}

/** Parses a message body; throws when it is not a domain event of a known type and shape. */
export function decodeEvent(data: Uint8Array): DomainEvent {
  return domainEventSchema.parse(JSON.parse(decoder.decode(data))) as DomainEvent;
}

export function streamConfig(config: EventBusConfig): Partial<StreamConfig> & { name: string } {
  return {
    name: config.EVENTS_STREAM,
    subjects: [allSubjects(config)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
}

/** Creates the stream, or brings an existing one to this configuration; idempotent. */
export async function ensureStream(nc: NatsConnection, config: EventBusConfig): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const wanted = streamConfig(config);
  try {
    await jsm.streams.info(wanted.name);
    await jsm.streams.update(wanted.name, wanted);
  } catch (error) {
    if (!(error instanceof Error) || !/not found/i.test(error.message)) throw error;
    await jsm.streams.add(wanted);
  }
}

/** A connection that keeps reconnecting for as long as the process runs: an outage delays, never ends it. */
export function connectEventBus(config: EventBusConfig, name: string): Promise<NatsConnection> {
  return connect({
    servers: config.NATS_URL.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  });
}
