import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { decodeEvent, type EventBusConfig } from '../../shared/event-bus';
import type { PublishedFact } from './published-rules';

/**
 * Every message of the events stream, in stream order, through an ordered consumer (ephemeral, reads
 * without acknowledging: the checker changes nothing). A body that is not a domain event is kept with the
 * fields it has, so the rules report it instead of the reader failing.
 */
export async function readPublishedEvents(
  nc: NatsConnection,
  config: EventBusConfig,
): Promise<PublishedFact[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(config.EVENTS_STREAM);
  if (state.messages === 0) return [];
  const consumer = await jetstream(nc).consumers.get(config.EVENTS_STREAM);
  const messages = await consumer.consume();
  const facts: PublishedFact[] = [];
  for await (const m of messages) {
    facts.push({
      streamSequence: m.seq,
      messageId: m.headers?.get('Nats-Msg-Id') || undefined,
      event: eventOf(m.data),
    });
    if (m.seq >= state.last_seq) break;
  }
  await messages.close();
  return facts;
}

function eventOf(data: Uint8Array): PublishedFact['event'] {
  try {
    return decodeEvent(data);
  } catch {
    let raw: Partial<PublishedFact['event']> = {};
    try {
      raw = JSON.parse(new TextDecoder().decode(data)) as Partial<PublishedFact['event']>;
    } catch {
      // not JSON at all: reported as a message without an outbox row
    }
    return {
      id: String(raw.id ?? ''),
      type: String(raw.type ?? '(not an event)'),
      aggregateType: String(raw.aggregateType ?? ''),
      aggregateId: String(raw.aggregateId ?? ''),
      sequence: Number(raw.sequence ?? 0),
      sagaId: String(raw.sagaId ?? ''),
    };
  }
}
