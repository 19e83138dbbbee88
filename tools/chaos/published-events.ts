import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { decodeEvent, type EventBusConfig } from '../../shared/event-bus';
import type { DomainEvent } from '../../shared/events';

/**
 * After a chaos run: what the outbox relays put on the stream against what the outboxes hold. With the
 * invariant checker's outbox rule (the outbox rows and the ledgers' effects are one to one), this makes
 * the events on the broker and the effects one to one.
 */

export interface OutboxRowRef {
  id: string;
  aggregateType: string;
  aggregateId: string;
  sequence: number;
  publishedAt: Date | null;
}

export interface PublishedEventsReport {
  /** Outbox rows of the run's services. */
  rows: number;
  /** Of them, marked published by a relay. */
  published: number;
  /** Messages on the run's stream. */
  onStream: number;
  /** Each departure: a row never published or missing on the stream, a duplicate, an aggregate out of order. */
  problems: string[];
}

/** Every message of the stream, in stream order (an ordered consumer from its first message). */
export async function readStream(
  bus: Pick<EventBusConfig, 'NATS_URL' | 'EVENTS_STREAM'>,
): Promise<DomainEvent[]> {
  const nc = await connect({ servers: bus.NATS_URL });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(bus.EVENTS_STREAM);
    if (info.state.messages === 0) return [];
    const messages = await (await jetstream(nc).consumers.get(bus.EVENTS_STREAM)).consume();
    const events: DomainEvent[] = [];
    for await (const message of messages) {
      events.push(decodeEvent(message.data));
      if (message.info.pending === 0) break;
    }
    messages.stop();
    return events;
  } finally {
    await nc.close();
  }
}

export function comparePublished(rows: OutboxRowRef[], stream: DomainEvent[]): PublishedEventsReport {
  const problems: string[] = [];
  const onStream = new Map<string, number>();
  for (const event of stream) onStream.set(event.id, (onStream.get(event.id) ?? 0) + 1);
  for (const row of rows) {
    const what = `${row.aggregateType} ${row.aggregateId} #${row.sequence} (${row.id})`;
    if (!row.publishedAt) problems.push(`${what}: never published`);
    const count = onStream.get(row.id) ?? 0;
    if (count !== 1) problems.push(`${what}: ${count} times on the stream`);
  }
  const ids = new Set(rows.map((row) => row.id));
  for (const id of onStream.keys()) if (!ids.has(id)) problems.push(`${id}: on the stream, in no outbox`);
  const last = new Map<string, number>();
  for (const event of stream) {
    const key = `${event.aggregateType} ${event.aggregateId}`;
    const previous = last.get(key) ?? 0;
    if (event.sequence !== previous + 1) {
      problems.push(`${key}: #${event.sequence} on the stream after #${previous}`);
    }
    last.set(key, Math.max(previous, event.sequence));
  }
  return {
    rows: rows.length,
    published: rows.filter((row) => row.publishedAt).length,
    onStream: stream.length,
    problems,
  };
}
