import { setTimeout as sleep } from 'node:timers/promises';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { allSubjects, decodeEvent, ensureStream, type EventBusConfig } from '../../shared/event-bus';
import { z } from '../../shared/zod';
import { applyEvent, ORDER_HISTORY_CONSUMER } from './apply';
import type { OrderHistoryDb } from './db';
import type { OrderHistoryMetrics } from './metrics';

/**
 * The order-history consumer: a durable JetStream pull consumer over every domain event, applying each in
 * one database transaction (apply.ts) and acking it only after that commit. One message is in flight at a
 * time (max_ack_pending 1), so events are applied in stream order and lastAppliedSequence means "every
 * event up to here"; a database that fails makes the message come back (nak with a delay), never skipped.
 */

/** How long a message the database could not take waits before the broker delivers it again. */
export const RETRY_DELAY_MS = 2000;

/**
 * Longer than any single apply (a Prisma transaction times out after 5 s), so a slow commit is not sent
 * again while it runs; short enough that an event the broker handed to a process that then died is
 * redelivered soon (one is in flight at a time: the stream waits for it).
 */
const ACK_WAIT_MS = 10_000;

export function orderHistoryConsumerConfig(config: EventBusConfig): Partial<ConsumerConfig> {
  return {
    durable_name: ORDER_HISTORY_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: allSubjects(config),
    max_ack_pending: 1,
    ack_wait: nanos(ACK_WAIT_MS),
  };
}

/** Creates the durable consumer, or brings the one there (deliver policy aside: fixed at creation) to this configuration. */
export async function ensureOrderHistoryConsumer(
  jsm: JetStreamManager,
  config: EventBusConfig,
): Promise<void> {
  const wanted = orderHistoryConsumerConfig(config);
  try {
    await jsm.consumers.info(config.EVENTS_STREAM, ORDER_HISTORY_CONSUMER);
  } catch (error) {
    if (!(error instanceof Error) || !/not found/i.test(error.message)) throw error;
    await jsm.consumers.add(config.EVENTS_STREAM, wanted);
    return;
  }
  const { filter_subject, max_ack_pending, ack_wait } = wanted;
  await jsm.consumers.update(config.EVENTS_STREAM, ORDER_HISTORY_CONSUMER, {
    filter_subject,
    max_ack_pending,
    ack_wait,
  });
}

export interface OrderHistoryConsumerOptions {
  nc: NatsConnection;
  config: EventBusConfig;
  db: OrderHistoryDb;
  logger: Logger;
  metrics?: OrderHistoryMetrics;
}

export interface RunningConsumer {
  /** Stops pulling; resolves once the message in hand (if any) is applied and acked, or left for redelivery. */
  stop(): Promise<void>;
}

/** One line on why a body is not a domain event: the first problem zod found, or the JSON error. Never the body. */
function whyInvalid(error: unknown): string {
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
  }
  return error instanceof Error ? error.message : String(error);
}

export function startOrderHistoryConsumer(options: OrderHistoryConsumerOptions): RunningConsumer {
  const { nc, config, db, logger, metrics } = options;
  const js = jetstream(nc);
  let stopping = false;
  let current: ConsumerMessages | undefined;

  const handle = async (msg: JsMsg): Promise<void> => {
    let event;
    try {
      event = decodeEvent(msg.data);
    } catch (error) {
      // Redelivering it would fail the same way forever: tell the broker never to send it again.
      logger.error(
        { subject: msg.subject, streamSequence: msg.seq, reason: whyInvalid(error) },
        'not a domain event: terminated',
      );
      // No reason with it: nats-server before 2.10 ignores a TERM that carries one.
      msg.term();
      metrics?.rejected.inc();
      return;
    }
    try {
      const outcome = await applyEvent(db, event, msg.seq);
      msg.ack();
      metrics?.applied.inc({ outcome });
      metrics?.lastApplied.set(msg.seq);
      if (outcome === 'conflict') {
        logger.warn(
          {
            eventId: event.id,
            aggregateId: event.aggregateId,
            sequence: event.sequence,
            streamSequence: msg.seq,
          },
          'another event already holds this aggregate sequence: kept the first',
        );
      }
    } catch (error) {
      // Not applied (the transaction rolled back): the broker delivers it again after the delay.
      msg.nak(RETRY_DELAY_MS);
      metrics?.retried.inc();
      logger.warn(
        {
          eventId: event.id,
          streamSequence: msg.seq,
          retryInMs: RETRY_DELAY_MS,
          reason: error instanceof Error ? error.message.split('\n')[0] : String(error),
        },
        'could not apply event; it will be delivered again',
      );
    }
  };

  // Ends the current pull when the durable consumer goes away (deleted to rebuild, or lost with the
  // broker's store): the loop then creates it again, from the stream's first event.
  const watch = async (messages: ConsumerMessages): Promise<void> => {
    for await (const status of messages.status()) {
      if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found') {
        logger.warn({ notification: status.type }, 'durable consumer gone; creating it again');
        messages.stop();
        return;
      }
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        const jsm = await jetstreamManager(nc);
        await ensureStream(nc, config);
        await ensureOrderHistoryConsumer(jsm, config);
        const consumer = await js.consumers.get(config.EVENTS_STREAM, ORDER_HISTORY_CONSUMER);
        const messages = await consumer.consume({ max_messages: 16 });
        current = messages;
        void watch(messages).catch(() => undefined);
        logger.info({ stream: config.EVENTS_STREAM, consumer: ORDER_HISTORY_CONSUMER }, 'consuming');
        for await (const msg of messages) {
          await handle(msg);
          if (stopping) break;
        }
      } catch (error) {
        if (stopping) break;
        logger.warn(
          { reason: error instanceof Error ? error.message.split('\n')[0] : String(error) },
          'cannot consume from the event stream; trying again',
        );
      } finally {
        current?.stop();
        current = undefined;
      }
      if (!stopping) await sleep(RETRY_DELAY_MS);
    }
  };
  const done = loop();

  return {
    async stop() {
      stopping = true;
      current?.stop();
      await done;
    },
  };
}
