import { randomUUID } from 'node:crypto';
import { Client, Pool, type PoolClient } from 'pg';
import {
  captureTransition,
  decideAuthorization,
  isUnavailable,
  refundTransition,
  releaseTransition,
  type ChargeStatus,
} from './provider';

/**
 * The simulated payment provider, behaving like a real one: its own store (its own PostgreSQL database,
 * never the payments service's), one charge per idempotency key, and a repeated key answered with the
 * stored response instead of acting again, as Stripe does. Transient failures (`tok_processingError_N`)
 * are counted here, per idempotency key; a provider-wide outage switch (setProviderOutage) makes every
 * call fail with ProviderUnavailable (a 5xx) until a time, and counts the calls it refused. Its tables are
 * created on first use.
 */

export type ProviderErrorCode =
  'ProviderUnavailable' | 'ProviderTimeout' | 'IdempotencyKeyReused' | 'ChargeNotFound';

/** An error answer of the provider; `status` is the HTTP status a real provider would send. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    readonly code: ProviderErrorCode,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** 5xx and timeouts are worth retrying with the same idempotency key. */
  get retryable(): boolean {
    return this.status >= 500;
  }
}

/** The provider's answer to one request (what it stores for the request's idempotency key). */
export interface ChargeResponse {
  /** null when the provider had no charge to act on (a release before any authorization). */
  chargeId: string | null;
  status: ChargeStatus | 'none';
  declineReason: string | null;
}

export interface AuthorizeRequest {
  idempotencyKey: string;
  /** The merchant's reference (metadata), by which a release finds the charge. */
  paymentId: string;
  amount: number;
  currency: string;
  token: string;
}

export interface CallOptions {
  /** How long a request the provider never answers (tok_timeout) hangs before the caller gives up. */
  hangMs?: number;
  signal?: AbortSignal;
}

export interface ChargeRow {
  id: string;
  paymentId: string;
  amount: number;
  currency: string;
  status: ChargeStatus;
  declineReason: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS provider_charge (
  id             TEXT PRIMARY KEY,
  payment_id     TEXT NOT NULL,
  amount         INTEGER NOT NULL,
  currency       TEXT NOT NULL,
  status         TEXT NOT NULL,
  decline_reason TEXT,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS provider_charge_payment_id_idx ON provider_charge (payment_id);
CREATE TABLE IF NOT EXISTS provider_request (
  idempotency_key TEXT PRIMARY KEY,
  operation       TEXT NOT NULL,
  fingerprint     TEXT NOT NULL,
  calls           INTEGER NOT NULL,
  response        JSONB,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS provider_outage (
  id                TEXT PRIMARY KEY,
  unavailable_until TIMESTAMPTZ NOT NULL,
  reason            TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_outage_refusal (
  id    TEXT PRIMARY KEY,
  calls INTEGER NOT NULL
);`;
/** Serialises concurrent first uses (CREATE TABLE IF NOT EXISTS races otherwise), across processes. */
const SCHEMA_LOCK = 7_302_514;
const OUTAGE_ID = 'all';

async function createSchema(client: Client | PoolClient): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query(SCHEMA);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

type Operation = 'authorize' | 'capture' | 'release' | 'refund';

export class SimulatedProvider {
  private readonly pool: Pool;
  private schema: Promise<void> | undefined;

  constructor(
    databaseUrl: string,
    poolSize = 5,
    /** Told when an idle connection of the pool drops (see below); nothing by default. */
    onIdleConnectionLost: (error: Error) => void = () => undefined,
  ) {
    this.pool = new Pool({ connectionString: databaseUrl, max: poolSize });
    // A database restart, failover or DROP ... WITH (FORCE) ends the pool's idle connections; pg reports
    // that as an 'error' event of the pool, which, with no listener, throws and kills the process. The
    // pool has already discarded that connection and the next call opens a new one; a call's own failure
    // still reaches its caller as a rejection.
    this.pool.on('error', onIdleConnectionLost);
  }

  /** Authorizes `amount` on the token's card: one charge per idempotency key (declined ones included). */
  async authorize(request: AuthorizeRequest, options: CallOptions = {}): Promise<ChargeResponse> {
    const { idempotencyKey, paymentId, amount, currency, token } = request;
    const fingerprint = JSON.stringify({ paymentId, amount, currency, token });
    const result = await this.idempotent('authorize', idempotencyKey, fingerprint, async (client, call) => {
      const decision = decideAuthorization(token, call);
      if (decision.kind === 'unavailable') {
        return { fail: new ProviderError('ProviderUnavailable', 503, decision.reason) };
      }
      if (decision.kind === 'hang') return { hang: true as const };
      const chargeId = `ch_${randomUUID().replace(/-/g, '')}`;
      const status: ChargeStatus = decision.kind === 'approve' ? 'authorized' : 'declined';
      const declineReason = decision.kind === 'decline' ? decision.reason : null;
      await client.query(
        `INSERT INTO provider_charge (id, payment_id, amount, currency, status, decline_reason)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [chargeId, paymentId, amount, currency, status, declineReason],
      );
      return { response: { chargeId, status, declineReason } };
    });
    if ('hang' in result) {
      // A provider that never answers: the request is lost without effect, the caller times out.
      await abortableSleep(options.hangMs ?? 30_000, options.signal);
      throw new ProviderError('ProviderTimeout', 504, 'provider did not answer');
    }
    return result.response;
  }

  /** Captures an authorized charge; capturing a captured charge again is a no-op. */
  async capture(request: { idempotencyKey: string; chargeId: string }): Promise<ChargeResponse> {
    const { idempotencyKey, chargeId } = request;
    const result = await this.idempotent(
      'capture',
      idempotencyKey,
      JSON.stringify({ chargeId }),
      async (client) => {
        const charge = await lockCharge(client, 'id = $1', chargeId);
        if (!charge) return { fail: new ProviderError('ChargeNotFound', 404, `no charge ${chargeId}`) };
        const to = captureTransition(charge.status);
        if (to === 'refused') return { response: response(charge, charge.status) };
        await setStatus(client, charge.id, to);
        return { response: response(charge, to) };
      },
    );
    if ('hang' in result) throw new ProviderError('ProviderTimeout', 504, 'provider did not answer');
    return result.response;
  }

  /**
   * Releases what is held for a payment: voids its authorization, refunds its capture. A payment without
   * a charge yet is answered `none` (nothing to release).
   */
  async release(request: { idempotencyKey: string; paymentId: string }): Promise<ChargeResponse> {
    const { idempotencyKey, paymentId } = request;
    const result = await this.idempotent(
      'release',
      idempotencyKey,
      JSON.stringify({ paymentId }),
      async (client) => {
        const charge = await lockCharge(client, "payment_id = $1 AND status <> 'declined'", paymentId);
        if (!charge) return { response: { chargeId: null, status: 'none' as const, declineReason: null } };
        const to = releaseTransition(charge.status);
        if (to !== charge.status) await setStatus(client, charge.id, to);
        return { response: response(charge, to) };
      },
    );
    if ('hang' in result) throw new ProviderError('ProviderTimeout', 504, 'provider did not answer');
    return result.response;
  }

  /**
   * Refunds a captured charge (a refunded one stays refunded); an authorization, a void or a decline is
   * answered with its status, unrefunded: only money that was taken can be given back.
   */
  async refund(request: { idempotencyKey: string; chargeId: string }): Promise<ChargeResponse> {
    const { idempotencyKey, chargeId } = request;
    const result = await this.idempotent(
      'refund',
      idempotencyKey,
      JSON.stringify({ chargeId }),
      async (client) => {
        const charge = await lockCharge(client, 'id = $1', chargeId);
        if (!charge) return { fail: new ProviderError('ChargeNotFound', 404, `no charge ${chargeId}`) };
        const to = refundTransition(charge.status);
        if (to === 'refused') return { response: response(charge, charge.status) };
        if (to !== charge.status) await setStatus(client, charge.id, to);
        return { response: response(charge, to) };
      },
    );
    if ('hang' in result) throw new ProviderError('ProviderTimeout', 504, 'provider did not answer');
    return result.response;
  }

  /** The charges the provider holds for a payment (tests and invariant checks read them). */
  async chargesOf(paymentId: string): Promise<ChargeRow[]> {
    await this.ensureSchema();
    const { rows } = await this.pool.query<ChargeRow>(
      `SELECT id, payment_id AS "paymentId", amount, currency, status, decline_reason AS "declineReason"
       FROM provider_charge WHERE payment_id = $1 ORDER BY created_at, id`,
      [paymentId],
    );
    return rows;
  }

  /** What the provider recorded for an idempotency key: how often it was called, what it answered. */
  async requestOf(
    idempotencyKey: string,
  ): Promise<{ operation: string; calls: number; response: ChargeResponse | null } | undefined> {
    await this.ensureSchema();
    const { rows } = await this.pool.query<{
      operation: string;
      calls: number;
      response: ChargeResponse | null;
    }>('SELECT operation, calls, response FROM provider_request WHERE idempotency_key = $1', [
      idempotencyKey,
    ]);
    return rows[0];
  }

  /**
   * The provider-wide outage last switched on (until it is cleared): when it ends and how many calls it
   * refused, counted by the provider itself, whoever called.
   */
  async outage(): Promise<{ until: Date; reason: string; refusedCalls: number } | undefined> {
    await this.ensureSchema();
    const { rows } = await this.pool.query<{ until: Date; reason: string; refusedCalls: number }>(
      `SELECT o.unavailable_until AS until, o.reason, COALESCE(r.calls, 0) AS "refusedCalls"
       FROM provider_outage o LEFT JOIN provider_outage_refusal r ON r.id = o.id WHERE o.id = $1`,
      [OUTAGE_ID],
    );
    return rows[0];
  }

  /** Sets (or, with null, clears) the provider-wide outage switch; a new outage counts from zero. */
  async setOutage(until: Date | null, reason = 'provider outage'): Promise<void> {
    await this.ensureSchema();
    await writeOutage(this.pool, until, reason);
  }

  async probe(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private ensureSchema(): Promise<void> {
    this.schema ??= (async () => {
      const client = await this.pool.connect();
      try {
        await createSchema(client);
      } finally {
        client.release();
      }
    })().catch((error: unknown) => {
      this.schema = undefined; // the next call tries again
      throw error;
    });
    return this.schema;
  }

  /**
   * One request under its idempotency key, in one transaction: the outage switch first (a provider that
   * is down counts nothing for the key, only the refused call on the outage), then the key's row is
   * created or its call count raised (the row stays locked until commit, so concurrent requests with one
   * key run one after the other). A stored response is returned as is; otherwise `handle` decides, and a
   * response it gives is stored for the key. A failure it gives commits the call count and is thrown: the
   * key may be retried, as after a real 5xx.
   */
  private async idempotent(
    operation: Operation,
    idempotencyKey: string,
    fingerprint: string,
    handle: (
      client: PoolClient,
      call: number,
    ) => Promise<{ response: ChargeResponse } | { fail: ProviderError } | { hang: true }>,
  ): Promise<{ response: ChargeResponse } | { hang: true }> {
    await this.ensureSchema();
    const client = await this.pool.connect();
    let outcome: { response: ChargeResponse } | { fail: ProviderError } | { hang: true };
    try {
      await client.query('BEGIN');
      const outage = await client.query<{ unavailable_until: Date; reason: string }>(
        'SELECT unavailable_until, reason FROM provider_outage WHERE id = $1',
        [OUTAGE_ID],
      );
      const down = outage.rows[0];
      if (down && isUnavailable(down.unavailable_until, new Date())) {
        // Counted on the outage, not on the key: how hard callers hit a provider that is down.
        await client.query(
          `INSERT INTO provider_outage_refusal (id, calls) VALUES ($1, 1)
           ON CONFLICT (id) DO UPDATE SET calls = provider_outage_refusal.calls + 1`,
          [OUTAGE_ID],
        );
        await client.query('COMMIT');
        throw new ProviderError(
          'ProviderUnavailable',
          503,
          `${down.reason} until ${down.unavailable_until.toISOString()}`,
        );
      }
      const { rows } = await client.query<{
        calls: number;
        operation: string;
        fingerprint: string;
        response: ChargeResponse | null;
      }>(
        `INSERT INTO provider_request (idempotency_key, operation, fingerprint, calls)
         VALUES ($1, $2, $3, 1)
         ON CONFLICT (idempotency_key)
           DO UPDATE SET calls = provider_request.calls + 1, updated_at = now()
         RETURNING calls, operation, fingerprint, response`,
        [idempotencyKey, operation, fingerprint],
      );
      const request = rows[0];
      if (!request) throw new Error('provider_request upsert returned no row');
      if (request.operation !== operation || request.fingerprint !== fingerprint) {
        outcome = {
          fail: new ProviderError(
            'IdempotencyKeyReused',
            422,
            `idempotency key ${idempotencyKey} was used for another request`,
          ),
        };
      } else if (request.response) {
        outcome = { response: request.response };
      } else {
        outcome = await handle(client, request.calls);
        if ('response' in outcome) {
          await client.query(
            'UPDATE provider_request SET response = $2, updated_at = now() WHERE idempotency_key = $1',
            [idempotencyKey, JSON.stringify(outcome.response)],
          );
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    if ('fail' in outcome) throw outcome.fail;
    return outcome;
  }
}

/** The provider's operations the payments service calls (the circuit breaker guards the same ones). */
export type PaymentProvider = Pick<SimulatedProvider, 'authorize' | 'capture' | 'release' | 'refund'>;

async function lockCharge(client: PoolClient, where: string, value: string): Promise<ChargeRow | undefined> {
  const { rows } = await client.query<ChargeRow>(
    `SELECT id, payment_id AS "paymentId", amount, currency, status, decline_reason AS "declineReason"
     FROM provider_charge WHERE ${where} ORDER BY created_at, id LIMIT 1 FOR UPDATE`,
    [value],
  );
  return rows[0];
}

async function setStatus(client: PoolClient, chargeId: string, status: ChargeStatus): Promise<void> {
  await client.query('UPDATE provider_charge SET status = $2, updated_at = now() WHERE id = $1', [
    chargeId,
    status,
  ]);
}

function response(charge: ChargeRow, status: ChargeStatus): ChargeResponse {
  return { chargeId: charge.id, status, declineReason: charge.declineReason };
}

async function writeOutage(
  db: { query: Pool['query'] } | Client,
  until: Date | null,
  reason: string,
): Promise<void> {
  if (until === null) {
    await db.query(
      `WITH counted AS (DELETE FROM provider_outage_refusal WHERE id = $1)
       DELETE FROM provider_outage WHERE id = $1`,
      [OUTAGE_ID],
    );
    return;
  }
  await db.query(
    `WITH counted AS (DELETE FROM provider_outage_refusal WHERE id = $1)
     INSERT INTO provider_outage (id, unavailable_until, reason) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET unavailable_until = EXCLUDED.unavailable_until, reason = EXCLUDED.reason`,
    [OUTAGE_ID, until, reason],
  );
}

/**
 * The outage switch for chaos runs and tests: until `until`, every call of the provider whose store is at
 * `providerDatabaseUrl` fails with a transient ProviderUnavailable (503); null switches it off at once.
 */
export async function setProviderOutage(
  providerDatabaseUrl: string,
  until: Date | null,
  reason = 'provider outage',
): Promise<void> {
  const client = new Client({ connectionString: providerDatabaseUrl });
  await client.connect();
  try {
    await createSchema(client);
    await writeOutage(client, until, reason);
  } finally {
    await client.end();
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
