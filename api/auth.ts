import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import type { ApiKey, JwtConfig } from '../shared/config';
import { SCOPES, isScope, type Scope } from '../shared/scopes';
import { HttpProblem, sendProblem } from './problem';

/**
 * Who made a request and what it may do. `id` is `key_<hash prefix>` for an API key, `jwt:<sub>` for a
 * bearer token, `anonymous` for an unauthenticated read (API_READ_OPEN): never a secret, so it is logged,
 * recorded as the StartedBy of the sagas it starts and in the audit of the actions it takes.
 */
export interface Principal {
  id: string;
  scopes: ReadonlySet<Scope>;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The loggable id of an API key (a prefix of its hash), also the scope of its Idempotency-Keys. */
export function keyIdOf(key: string): string {
  return `key_${digest(key).toString('hex').slice(0, 12)}`;
}

/** An API key given as a bare string has every scope (the format API_KEYS had before scopes). */
export type ApiKeyOption = string | ApiKey;

/** Finds which configured key a token is, comparing digests in constant time; undefined if none. */
export function keyMatcher(keys: readonly ApiKeyOption[]): (token: string) => Principal | undefined {
  const known = keys.map((entry) => {
    const { key, scopes } = typeof entry === 'string' ? { key: entry, scopes: SCOPES } : entry;
    return { digest: digest(key), principal: { id: keyIdOf(key), scopes: new Set(scopes) } };
  });
  return (token) => {
    const candidate = digest(token);
    // Every key is compared, so the time taken does not tell which one (if any) matched.
    let match: Principal | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, candidate)) match = k.principal;
    return match;
  };
}

export function bearerToken(header: string | undefined): string | undefined {
  return header?.match(/^Bearer\s+(\S+)$/i)?.[1];
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
/** Subjects become principal ids, which visibility queries quote: no quotes, backslashes or spaces. */
const SUBJECT = /^[A-Za-z0-9._:@|+=/-]{1,128}$/;

/** Verifies a bearer credential: one of the API keys, or a JWT of the configured issuer. */
export interface Authenticator {
  /** The principal of a credential; throws a 401 HttpProblem (503 if the issuer's keys cannot be had). */
  verify(token: string): Promise<Principal>;
  readonly acceptsTokens: boolean;
}

export function createAuthenticator(options: {
  apiKeys: readonly ApiKeyOption[];
  jwt?: JwtConfig;
}): Authenticator {
  const match = keyMatcher(options.apiKeys);
  const jwt = options.jwt;
  const keySet = jwt
    ? jwt.jwksUrl
      ? createRemoteJWKSet(jwt.jwksUrl, { timeoutDuration: 5000, cooldownDuration: 30_000 })
      : createLocalJWKSet(jwt.jwks as unknown as JSONWebKeySet) // kty checked by the config schema
    : undefined;
  return {
    acceptsTokens: keySet !== undefined,
    async verify(token) {
      const principal = match(token);
      if (principal) return principal;
      if (!jwt || !keySet || !JWT_SHAPE.test(token)) {
        throw unauthorized(jwt ? 'the API key or bearer token is not valid' : 'the API key is not valid');
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySet, {
          issuer: jwt.issuer,
          audience: jwt.audience,
          algorithms: jwt.algorithms,
          clockTolerance: jwt.clockToleranceSeconds,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        throw tokenProblem(error);
      }
      if (typeof payload.sub !== 'string' || !SUBJECT.test(payload.sub)) {
        throw unauthorized('the bearer token has no usable subject (sub)');
      }
      return { id: `jwt:${payload.sub}`, scopes: new Set(scopesOf(payload)) };
    },
  };
}

/** The scopes a token grants: its `scope` (space-separated) and `scp` (list or string) claims; others ignored. */
function scopesOf(payload: JWTPayload): Scope[] {
  const claimed: unknown[] = [];
  for (const claim of [payload.scope, payload.scp]) {
    if (typeof claim === 'string') claimed.push(...claim.split(' '));
    else if (Array.isArray(claim)) claimed.push(...(claim as unknown[]));
  }
  return claimed.filter((scope): scope is Scope => typeof scope === 'string' && isScope(scope));
}

function unauthorized(detail: string): HttpProblem {
  return new HttpProblem(401, 'unauthorized', detail);
}

/** Why a token was refused, without quoting it; the issuer's keys being unreachable is ours to fix: 503. */
function tokenProblem(error: unknown): HttpProblem {
  if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
    return new HttpProblem(
      503,
      'identity-provider-unavailable',
      'the keys of the token issuer could not be fetched; retry later',
    );
  }
  if (error instanceof joseErrors.JWTExpired) return unauthorized('the bearer token has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const detail: Record<string, string> = {
      nbf: 'the bearer token is not valid yet (nbf)',
      iss: 'the bearer token is not from the accepted issuer (iss)',
      aud: 'the bearer token is not for this API (aud)',
    };
    return unauthorized(detail[error.claim] ?? `the bearer token's ${error.claim} claim is not acceptable`);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return unauthorized('the bearer token is signed with a key the issuer does not publish');
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return unauthorized('the bearer token is not signed with an accepted algorithm');
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return unauthorized('the bearer token signature is not valid');
  }
  return unauthorized('the bearer token is not valid');
}

/**
 * Bearer authentication: an API key or a JWT. A credential that is presented and refused is always 401,
 * also on a read route with `readOpen` (which lets requests with no credential read as `anonymous`).
 */
export function authenticate(authenticator: Authenticator, options: { readOpen: boolean }): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (!token) {
      if (options.readOpen && (req.method === 'GET' || req.method === 'HEAD')) {
        req.principal = { id: 'anonymous', scopes: new Set<Scope>(['sagas:read']) };
        return next();
      }
      res.set('WWW-Authenticate', 'Bearer');
      return next(
        unauthorized(
          authenticator.acceptsTokens
            ? 'an API key or bearer token is required: Authorization: Bearer <key or token>'
            : 'an API key is required: Authorization: Bearer <key>',
        ),
      );
    }
    try {
      req.principal = await authenticator.verify(token);
    } catch (error) {
      if (error instanceof HttpProblem && error.status === 401) {
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      }
      return next(error);
    }
    next();
  };
}

/** 403 naming the scope a route needs, unless the caller's identity has it. */
export function requireScope(scope: Scope): RequestHandler {
  return (req, res, next) => {
    if (req.principal?.scopes.has(scope)) return next();
    res.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
    next(
      new HttpProblem(403, 'insufficient-scope', `this request needs the scope ${scope}`, [
        { field: 'header.authorization', rule: 'missing_scope', message: `needs the scope ${scope}` },
      ]),
    );
  };
}

/**
 * Counts refused authentication per client address, before the credential is checked: a client that
 * keeps presenting bad keys or tokens gets 429 for the rest of the minute, however many it tries.
 */
export function authFailureLimiter(limitPerMinute: number, onLimited?: RequestHandler): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: limitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    handler: (req, res, next, limiterOptions) => {
      res.set('Retry-After', String(Math.ceil(limiterOptions.windowMs / 1000)));
      if (onLimited) return onLimited(req, res, next);
      sendProblem(
        res,
        new HttpProblem(429, 'rate-limited', 'too many failed authentication attempts from this address'),
        req.originalUrl,
      );
    },
  });
}
