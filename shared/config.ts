import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from './zod';
import { SCOPES, isScope, type Scope } from './scopes';
import { msToNumber } from '@temporalio/common/lib/time';
import type { Duration } from '@temporalio/common';

/**
 * Configuration comes only from environment variables, validated here at start-up so a bad value
 * fails fast with one line naming the variable (see ConfigError), never deep inside a request.
 */

/**
 * The services this deployment runs: the one registration line of a service (its worker module is listed in
 * worker/service-activities.ts, which fails to type-check without it). Database URL variables, default
 * databases, task queues, `npm start`, db:prepare, compose, chaos and the tests derive from this list.
 */
export const SERVICES = ['orders', 'payments', 'shipments', 'inventory'] as const;
export type ServiceName = (typeof SERVICES)[number];

const perService = <T>(value: (service: ServiceName) => T) =>
  Object.fromEntries(SERVICES.map((service) => [service, value(service)])) as Record<ServiceName, T>;

export const postgresUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgresql:' || url.protocol === 'postgres:') && url.pathname.length > 1;
    } catch {
      return false;
    }
  }, 'must be a PostgreSQL URL such as postgresql://user@host:5432/database');

/** A Temporal duration string ("500ms", "10s", "2m") or a number of milliseconds. */
export const durationSchema = z
  .string()
  .trim()
  .refine((value) => {
    try {
      return msToNumber(value as Duration) > 0;
    } catch {
      return false;
    }
  }, 'must be a positive duration such as 500ms, 10s or 2m')
  .transform((value) => value as Duration);

const port = z.coerce.number().int().min(0).max(65535);
const hostPort = z
  .string()
  .trim()
  .regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233');

/** Each service's own database: saga_<service>, read from <SERVICE>_DATABASE_URL. */
export const DEFAULT_DATABASE_URLS = perService((s) => `postgresql://postgres@127.0.0.1:5432/saga_${s}`);

export const DATABASE_URL_VARS = perService((s) => `${s.toUpperCase()}_DATABASE_URL`);

/**
 * The simulated payment provider's own store (activities/payments/provider-store.ts): a database of its
 * own, as a real provider keeps its charges on its side, never in the payments service's database. Only
 * the payments worker reaches it (and db:prepare creates it).
 */
export const PROVIDER_DATABASE_URL_VAR = 'PROVIDER_DATABASE_URL';
export const DEFAULT_PROVIDER_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/saga_provider';

/**
 * The read models: consumers of the domain events (read-models/<name>/), each with a database of its own.
 * Not services: they have no worker and no task queue, so they are not in SERVICES.
 */
export const READ_MODELS = ['order-history'] as const;
export type ReadModelName = (typeof READ_MODELS)[number];

/** The order-history read model's database (read-models/order-history/), written by its consumer, read by the API. */
export const ORDER_HISTORY_DATABASE_URL_VAR = 'ORDER_HISTORY_DATABASE_URL';
export const DEFAULT_ORDER_HISTORY_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/saga_order_history';

/** Each read model's database URL variable (its schema and migrations are prisma/<read model>/). */
export const READ_MODEL_DATABASE_URL_VARS: Record<ReadModelName, typeof ORDER_HISTORY_DATABASE_URL_VAR> = {
  'order-history': ORDER_HISTORY_DATABASE_URL_VAR,
};

export const orderHistoryDatabaseConfigSchema = z.object({
  ORDER_HISTORY_DATABASE_URL: postgresUrl.default(DEFAULT_ORDER_HISTORY_DATABASE_URL),
});

/** Database URL variables a service worker reads besides its own database's (the payments provider's). */
export const EXTRA_DATABASE_URL_VARS = perService((s): readonly string[] =>
  s === 'payments' ? [PROVIDER_DATABASE_URL_VAR] : [],
);

/** A file this process must be able to read (a certificate, a key), checked at start-up, never quoted. */
export const readableFile = z
  .string()
  .trim()
  .min(1)
  .refine((file) => {
    try {
      accessSync(file, constants.R_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  }, 'must name a readable file (check the path and its permissions)');

/**
 * How this process reaches Temporal securely (shared/temporal-connection.ts turns them into the options of
 * both Connection and NativeConnection): the server's CA (TLS), a client certificate and key (mTLS), the
 * name the server's certificate is checked against, and an API key (Temporal Cloud, sent as a bearer
 * token; implies TLS). All optional: unset, the connection is plaintext, as to the dev server.
 */
export const temporalTlsConfigShape = {
  TEMPORAL_TLS_CA_FILE: readableFile.optional(),
  TEMPORAL_TLS_CERT_FILE: readableFile.optional(),
  TEMPORAL_TLS_KEY_FILE: readableFile.optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().trim().min(1).optional(),
  /** true: TLS with the system's CAs, without any of the files above. */
  TEMPORAL_TLS: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
  TEMPORAL_API_KEY: z.string().trim().min(1).optional(),
};

export const temporalConfigSchema = z.object({
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  ...temporalTlsConfigShape,
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'may contain only letters, digits, ".", "_" and "-"')
    .default('saga-'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export const databaseConfigSchema = z.object({
  ...(Object.fromEntries(
    SERVICES.map((s) => [DATABASE_URL_VARS[s], postgresUrl.default(DEFAULT_DATABASE_URLS[s])]),
  ) as Record<`${Uppercase<ServiceName>}_DATABASE_URL`, z.ZodDefault<typeof postgresUrl>>),
  PROVIDER_DATABASE_URL: postgresUrl.default(DEFAULT_PROVIDER_DATABASE_URL),
  ORDER_HISTORY_DATABASE_URL: orderHistoryDatabaseConfigSchema.shape.ORDER_HISTORY_DATABASE_URL,
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
});

export const providerConfigSchema = z.object({
  PROVIDER_DATABASE_URL: databaseConfigSchema.shape.PROVIDER_DATABASE_URL,
});

/**
 * Timeouts and retry budgets of the saga engine. Technical failures are retried until a deadline (forward
 * recovery), so an outage of minutes delays a saga instead of rolling it back; see the README's failure model.
 */
export const sagaConfigSchema = z.object({
  /** One attempt of a step's activity: a call that has not answered by then is retried. */
  SAGA_STEP_TIMEOUT: durationSchema.default('10s'),
  /** All attempts of one step: only when it passes does a technical failure compensate the saga. */
  SAGA_STEP_DEADLINE: durationSchema.default('10m'),
  SAGA_RETRY_INITIAL_INTERVAL: durationSchema.default('200ms'),
  /** Cap of the exponential backoff between a step's attempts. */
  SAGA_RETRY_MAX_INTERVAL: durationSchema.default('10s'),
  /** All attempts of one compensation before the saga parks for an operator (COMPENSATION_FAILED). */
  SAGA_COMPENSATION_DEADLINE: durationSchema.default('6h'),
  /** Cap of the backoff between a compensation's attempts. */
  SAGA_COMPENSATION_MAX_INTERVAL: durationSchema.default('1m'),
  /** The whole forward path of a saga: past it, the saga compensates whatever step it is at. */
  SAGA_DEADLINE: durationSchema.default('1h'),
  SAGA_COMPENSATION_MODE: z.enum(['sequential', 'parallel']).default('sequential'),
  // Attempt counts were the budget before forward recovery; a deployment still setting them must hear why
  // they no longer apply rather than silently run with other limits.
  SAGA_STEP_MAX_ATTEMPTS: z
    .never({ error: 'is no longer supported: steps retry until SAGA_STEP_DEADLINE' })
    .optional(),
  SAGA_COMPENSATION_MAX_ATTEMPTS: z
    .never({ error: 'is no longer supported: compensations retry until SAGA_COMPENSATION_DEADLINE' })
    .optional(),
});

export const workerConfigSchema = z.object({
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(1000).default(100),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(1).max(1000).default(40),
  /** Where the orchestrator takes a prebuilt workflow bundle from, if set (skips bundling at start-up). */
  WORKFLOW_BUNDLE_PATH: z.string().optional(),
});

/**
 * The circuit breaker in front of each external dependency a service worker calls (today the payment
 * provider), one per worker process: after technical failures of CIRCUIT_BREAKER_THRESHOLD different
 * requests in a row (a request's own retries count once) it opens and calls fail fast (retryably: Temporal retries the step, the saga waits) for
 * CIRCUIT_BREAKER_HALF_OPEN_AFTER; then one trial call goes through, and its success closes it again.
 * 10 s matches the retry backoff's cap (SAGA_RETRY_MAX_INTERVAL): a recovered provider is tried again
 * within one backoff interval, and a provider that stays down gets one call per 10 s from each worker.
 */
export const circuitBreakerConfigSchema = z.object({
  CIRCUIT_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(1000).default(5),
  CIRCUIT_BREAKER_HALF_OPEN_AFTER: durationSchema.default('10s'),
});

/** An API key and what it may do. */
export interface ApiKey {
  key: string;
  scopes: readonly Scope[];
}

function parseApiKeys(value: string, ctx: z.RefinementCtx): ApiKey[] {
  const keys: ApiKey[] = [];
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const where = `entry ${index + 1}`;
    const separator = entry.indexOf(':');
    const key = separator < 0 ? entry : entry.slice(0, separator);
    const listed = separator < 0 ? undefined : entry.slice(separator + 1).split('+');
    if (key.length < 16) {
      ctx.addIssue({ code: 'custom', message: `${where}: each key must have 16+ characters` });
      continue;
    }
    const unknown = listed?.filter((scope) => !isScope(scope)) ?? [];
    if (listed && (listed.length === 0 || unknown.length > 0)) {
      ctx.addIssue({
        code: 'custom',
        message: `${where}: unknown scope ${JSON.stringify(unknown[0] ?? '')} after ':' (scopes: ${SCOPES.join(', ')}, joined with '+'; keys may not contain ':')`,
      });
      continue;
    }
    const duplicate = keys.findIndex((known) => known.key === key);
    if (duplicate >= 0) {
      ctx.addIssue({ code: 'custom', message: `${where} repeats the key of entry ${duplicate + 1}` });
      continue;
    }
    keys.push({ key, scopes: listed ? [...new Set(listed as Scope[])] : [...SCOPES] });
  }
  if (keys.length === 0 && entries.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one key' });
  }
  return keys;
}

const booleanString = z.enum(['true', 'false']).transform((value) => value === 'true');

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const isProxyAddress = (entry: string): boolean => {
  if (PROXY_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
};

/**
 * Which reverse proxies in front of a server are trusted to name the client (X-Forwarded-For), so rate
 * limits count per client, not per proxy: a number of hops, or comma-separated addresses, CIDR ranges and
 * Express's names loopback, linklocal, uniquelocal. Unset: none (the peer address is the client). `true`
 * (trust any) is refused: any client could then pick the address it is counted under.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((value, ctx): number | string[] => {
    if (/^\d+$/.test(value)) {
      const hops = Number(value);
      if (hops >= 1 && hops <= 10) return hops;
    }
    const entries = value.split(',').map((entry) => entry.trim());
    const bad = entries.filter((entry) => !isProxyAddress(entry));
    if (bad.length === 0 && !/^\d+$/.test(value)) return entries;
    ctx.addIssue({
      code: 'custom',
      message:
        'must be a number of proxy hops (1-10), or comma-separated proxy addresses, CIDR ranges, ' +
        `loopback, linklocal or uniquelocal${bad.length > 0 ? ` (not: ${bad.join(', ')})` : ''}`,
    });
    return z.NEVER;
  });

export const apiConfigSchema = z.object({
  API_HOST: z.string().trim().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  /**
   * Comma-separated API keys (bearer tokens, 16+ characters), each `key` (every scope) or
   * `key:scope+scope` (only those), e.g. `k1...,k2...:sagas:read+sagas:start`. Keys may not contain ':'.
   * Messages never quote a key.
   */
  API_KEYS: z
    .string({ error: 'is required: comma-separated API keys (bearer tokens) of 16+ characters' })
    .transform((value, ctx) => parseApiKeys(value, ctx)),
  /** When true, read routes (GET) need no API key. */
  API_READ_OPEN: booleanString.default(false),
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  API_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(32_768),
  /** Reverse proxies trusted to name the client for rate limits (see trustProxy). */
  API_TRUST_PROXY: trustProxy.optional(),
  /** HTTPS: the certificate (PEM, with its chain) and key the API presents; both or neither. */
  API_TLS_CERT_FILE: readableFile.optional(),
  API_TLS_KEY_FILE: readableFile.optional(),
});

/** The algorithms a bearer token may be signed with (asymmetric only: the API never holds a signing key). */
export const JWT_ALGORITHMS = ['RS256', 'ES256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** What the API and the codec server verify bearer tokens (JWTs) from an OIDC issuer against. */
export interface JwtConfig {
  issuer: string;
  audience: string;
  /** The issuer's JWKS endpoint (keys fetched on first use and when a token names an unknown key id)... */
  jwksUrl?: URL;
  /** ...or a static key set (public keys only). */
  jwks?: { keys: Record<string, unknown>[] };
  algorithms: JwtAlgorithm[];
  clockToleranceSeconds: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Public JWK members only: a key set holding a private or symmetric key is refused, not used. */
const publicJwkSchema = z.looseObject({
  kty: z.enum(['RSA', 'EC'], { error: 'each key must be an RSA or EC public key (kty RSA or EC)' }),
  kid: z.string().min(1).optional(),
  ...Object.fromEntries(
    ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].map((member) => [
      member,
      z.never({ error: 'holds private key material: list public keys only' }).optional(),
    ]),
  ),
});

/**
 * JWT bearer tokens, off unless API_JWT_ISSUER is set; then API_JWT_AUDIENCE and exactly one of
 * API_JWT_JWKS_URL (https, or http on a loopback address) and API_JWT_JWKS are required.
 */
export const jwtConfigSchema = z
  .object({
    API_JWT_ISSUER: z.string().trim().min(1).optional(),
    API_JWT_AUDIENCE: z.string().trim().min(1).optional(),
    API_JWT_JWKS_URL: z
      .url({ error: "must be the URL of the issuer's JWKS document" })
      .refine((value) => {
        const url = new URL(value);
        return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
      }, 'must be an https URL (plain http only on a loopback address)')
      .optional(),
    API_JWT_JWKS: z
      .string()
      .transform((value, ctx) => {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be a JSON Web Key Set: {"keys":[...]}' });
          return z.NEVER;
        }
      })
      .pipe(z.object({ keys: z.array(publicJwkSchema).min(1, 'needs at least one key') }))
      .optional(),
    API_JWT_ALGORITHMS: z
      .string()
      .default(JWT_ALGORITHMS.join(','))
      .transform((value) =>
        value
          .split(',')
          .map((alg) => alg.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(
            z.enum(JWT_ALGORITHMS, { error: `each algorithm must be one of ${JWT_ALGORITHMS.join(', ')}` }),
          )
          .min(1, 'needs at least one algorithm'),
      ),
    API_JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  })
  .superRefine((config, ctx) => {
    const jwtVariables = (['API_JWT_AUDIENCE', 'API_JWT_JWKS_URL', 'API_JWT_JWKS'] as const).filter(
      (name) => config[name] !== undefined,
    );
    if (!config.API_JWT_ISSUER) {
      if (jwtVariables.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['API_JWT_ISSUER'],
          message: `is required when ${jwtVariables.join(', ')} is set`,
        });
      }
      return;
    }
    if (!config.API_JWT_AUDIENCE) {
      ctx.addIssue({
        code: 'custom',
        path: ['API_JWT_AUDIENCE'],
        message: 'is required with API_JWT_ISSUER: the audience tokens must be issued for',
      });
    }
    if ((config.API_JWT_JWKS_URL === undefined) === (config.API_JWT_JWKS === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['API_JWT_JWKS_URL'],
        message: 'or API_JWT_JWKS (one of them, not both) is required with API_JWT_ISSUER',
      });
    }
  })
  .transform((config): JwtConfig | undefined =>
    config.API_JWT_ISSUER && config.API_JWT_AUDIENCE
      ? {
          issuer: config.API_JWT_ISSUER,
          audience: config.API_JWT_AUDIENCE,
          ...(config.API_JWT_JWKS_URL ? { jwksUrl: new URL(config.API_JWT_JWKS_URL) } : {}),
          ...(config.API_JWT_JWKS ? { jwks: config.API_JWT_JWKS } : {}),
          algorithms: config.API_JWT_ALGORITHMS,
          clockToleranceSeconds: config.API_JWT_CLOCK_TOLERANCE_SECONDS,
        }
      : undefined,
  );

/** Where traces go and where a process serves its Prometheus metrics. */
export const telemetryConfigSchema = z.object({
  /** otlp: OTLP over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318); console; none. */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none']).default('none'),
  /** Host a worker's /metrics binds to (the API serves /metrics on its own port). */
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Port of a worker's /metrics; 0 picks a free one (replicas on one host), logged at start-up. */
  METRICS_PORT: port.default(0),
});

/** The codec server (codec-server/): where it listens and which Web UI origins may call it. */
export const codecServerConfigSchema = z.object({
  CODEC_SERVER_HOST: z.string().trim().min(1).default('127.0.0.1'),
  CODEC_SERVER_PORT: port.default(8888),
  CODEC_SERVER_CORS_ORIGINS: z
    .string()
    .default('http://127.0.0.1:8233,http://localhost:8233')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url()).min(1, 'needs at least one origin')),
  /** HTTPS: the certificate and key the codec server presents; both or neither. */
  CODEC_SERVER_TLS_CERT_FILE: readableFile.optional(),
  CODEC_SERVER_TLS_KEY_FILE: readableFile.optional(),
  /** Sign-in attempts (POST /login) per client address and minute, whatever their outcome. */
  CODEC_SERVER_LOGIN_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(20),
  /** Reverse proxies trusted to name the client for rate limits (see trustProxy). */
  CODEC_SERVER_TRUST_PROXY: trustProxy.optional(),
});

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * SAGA_CODEC_KEYS: comma-separated `keyId:base64key` entries, each key 32 bytes (AES-256). New payloads
 * are encrypted with SAGA_CODEC_ACTIVE_KEY_ID (required once there are several keys; with one key, that
 * one); any listed key decrypts. To rotate, append a new key and name it in SAGA_CODEC_ACTIVE_KEY_ID, and
 * drop an old one only when no history still needs it.
 * Messages never quote key material.
 */
export const codecKeysConfigSchema = z.object({
  SAGA_CODEC_KEYS: z
    .string({ error: 'is required: comma-separated keyId:base64key entries (32-byte keys)' })
    .transform((value, ctx) => {
      const keys = new Map<string, Buffer>();
      for (const [index, entry] of value
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)
        .entries()) {
        const separator = entry.indexOf(':');
        const id = separator > 0 ? entry.slice(0, separator) : '';
        const key = Buffer.from(entry.slice(separator + 1), 'base64');
        if (!KEY_ID.test(id)) {
          ctx.addIssue({
            code: 'custom',
            message: `entry ${index + 1} needs a key id ([A-Za-z0-9._-]) before ':'`,
          });
        } else if (keys.has(id)) {
          ctx.addIssue({ code: 'custom', message: `key id ${id} is listed twice` });
        } else if (key.length !== 32) {
          ctx.addIssue({
            code: 'custom',
            message: `key ${id} must be 32 bytes of base64 (openssl rand -base64 32)`,
          });
        } else keys.set(id, key);
      }
      if (keys.size === 0 && ctx.issues.length === 0)
        ctx.addIssue({ code: 'custom', message: 'needs at least one keyId:base64key entry' });
      return keys;
    }),
  SAGA_CODEC_ACTIVE_KEY_ID: z.string().trim().optional(),
});

export const appConfigSchema = temporalConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(sagaConfigSchema.shape)
  .extend(workerConfigSchema.shape)
  .extend(circuitBreakerConfigSchema.shape)
  .extend(apiConfigSchema.shape)
  .extend(telemetryConfigSchema.shape)
  .extend(codecServerConfigSchema.shape);

export type TemporalConfig = z.infer<typeof temporalConfigSchema>;
export type DatabaseConfig = z.infer<typeof databaseConfigSchema>;
export type SagaConfig = z.infer<typeof sagaConfigSchema>;
export type WorkerConfig = z.infer<typeof workerConfigSchema>;
export type CircuitBreakerConfig = z.infer<typeof circuitBreakerConfigSchema>;
export type ApiConfig = z.infer<typeof apiConfigSchema>;
export type TelemetryConfig = z.infer<typeof telemetryConfigSchema>;
export type AppConfig = z.infer<typeof appConfigSchema>;

/** Thrown for invalid configuration; its message is one line that names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // Empty strings count as unset, as they do in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`);
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

export function databaseUrl(config: DatabaseConfig, service: ServiceName): string {
  return config[DATABASE_URL_VARS[service] as keyof DatabaseConfig] as string;
}

/**
 * What a service worker connects to: its own database, and for payments the provider's store and the
 * circuit breaker in front of it.
 */
export interface ServiceDatabaseConfig {
  databaseUrl: string;
  poolSize: number;
  /** Payments only: the simulated provider's own database. */
  providerDatabaseUrl?: string;
  /** Payments only: the provider's circuit breaker (the shipped defaults when unset). */
  providerCircuitBreaker?: CircuitBreakerConfig;
}

/** A service worker's database settings: only its own URL is read, never another service's. */
export function loadServiceDatabaseConfig(
  service: ServiceName,
  env: NodeJS.ProcessEnv = process.env,
): ServiceDatabaseConfig {
  const urlVar = DATABASE_URL_VARS[service];
  const schema = z.object({
    [urlVar]: postgresUrl.default(DEFAULT_DATABASE_URLS[service]),
    DATABASE_POOL_SIZE: databaseConfigSchema.shape.DATABASE_POOL_SIZE,
  });
  const config = loadConfig(schema, env) as Record<string, unknown>;
  const loaded: ServiceDatabaseConfig = {
    databaseUrl: config[urlVar] as string,
    poolSize: config.DATABASE_POOL_SIZE as number,
  };
  if (service === 'payments') {
    loaded.providerDatabaseUrl = loadConfig(providerConfigSchema, env).PROVIDER_DATABASE_URL;
    loaded.providerCircuitBreaker = loadConfig(circuitBreakerConfigSchema, env);
  }
  return loaded;
}
