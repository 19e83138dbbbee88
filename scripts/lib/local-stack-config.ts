import path from 'node:path';
import { z } from '../../shared/zod';
import { appConfigSchema, postgresUrl, readableFile } from '../../shared/config';
import { eventBusConfigSchema, natsUrlSchema } from '../../shared/event-bus';
import { MAX_MEMBERSHIP_PORT } from '../temporal/cluster-config';

/** Settings of the local stack `npm start` runs, on top of the application's own configuration. */
export const localStackConfigSchema = appConfigSchema.extend({
  TEMPORAL_DATA_DIR: z.string().default(path.resolve(__dirname, '../../.data/temporal')),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  /** `dev`: the CLI's dev server (one process, SQLite). `cluster`: the production server on PostgreSQL. */
  TEMPORAL_MODE: z.enum(['dev', 'cluster']).default('dev'),
  /** Cluster mode: the PostgreSQL server of Temporal's own databases (the URL's database is only for admin). */
  TEMPORAL_POSTGRES_URL: postgresUrl.default('postgresql://postgres@127.0.0.1:5432/postgres'),
  /** Cluster mode: Temporal's databases are `<prefix>temporal` and `<prefix>temporal_visibility`. */
  TEMPORAL_DATABASE_PREFIX: z
    .string()
    .regex(/^([a-z_][a-z0-9_]{0,40})?$/, 'must be lower-case letters, digits and _')
    .default('saga_'),
  /**
   * Cluster mode: the internal ports (membership, history, matching, worker, metrics), 18 from this one;
   * below 32768, as membership ports must be (see MAX_MEMBERSHIP_PORT).
   */
  TEMPORAL_CLUSTER_BASE_PORT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(MAX_MEMBERSHIP_PORT - 17)
    .default(7300),
  /**
   * Cluster mode: mTLS on the frontend when set (all three): the certificate and key it presents and the
   * CA(s) of the client certificates it accepts (requireClientAuth). Every process, the cluster's own
   * tools included, then connects with TEMPORAL_TLS_CA_FILE, _CERT_FILE, _KEY_FILE (and _SERVER_NAME).
   */
  TEMPORAL_CLUSTER_TLS_CERT_FILE: readableFile.optional(),
  TEMPORAL_CLUSTER_TLS_KEY_FILE: readableFile.optional(),
  TEMPORAL_CLUSTER_TLS_CLIENT_CA_FILE: readableFile.optional(),
  /** Worker /metrics ports: orchestrator on this one, then orders, payments, shipments on the next three. */
  METRICS_BASE_PORT: z.coerce.number().int().min(1).max(65532).default(9464),
  /** The built-in OTLP/HTTP receiver, used when OTEL_EXPORTER_OTLP_ENDPOINT names no collector. */
  OTLP_RECEIVER_PORT: z.coerce.number().int().min(1).max(65535).default(4318),
  TRACES_FILE: z.string().default(path.resolve(__dirname, '../../.data/traces/spans.jsonl')),
  /** Where `npm start` keeps the payload key it made, when SAGA_CODEC_KEYS is not set. */
  CODEC_KEYS_FILE: z.string().default(path.resolve(__dirname, '../../.data/codec-keys')),
  /** NATS_URL unset and no broker on 127.0.0.1:4222: the JetStream store of the nats-server it starts. */
  NATS_DATA_DIR: z.string().default(path.resolve(__dirname, '../../.data/nats')),
  /** Unset: a broker on 127.0.0.1:4222, or one `npm start` starts there (scripts/nats/local-broker.ts). */
  NATS_URL: natsUrlSchema.optional(),
  EVENTS_STREAM: eventBusConfigSchema.shape.EVENTS_STREAM,
});

/** Only for the local stack: a key so the README's curl examples work out of the box. Never used elsewhere. */
export const LOCAL_DEV_API_KEY = 'local-dev-key-not-secret';
