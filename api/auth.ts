import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpProblem } from './problem';

/** Who made a request: an id derived from the API key, never the key itself (safe to log and to scope by). */
export interface Principal {
  keyId: string;
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

/** Finds which configured key a token is, comparing digests in constant time; undefined if none. */
export function keyMatcher(keys: readonly string[]): (token: string) => Principal | undefined {
  const known = keys.map((key) => ({ digest: digest(key), keyId: keyIdOf(key) }));
  return (token) => {
    const candidate = digest(token);
    const match = known.find((k) => timingSafeEqual(k.digest, candidate));
    return match ? { keyId: match.keyId } : undefined;
  };
}

export function bearerToken(header: string | undefined): string | undefined {
  return header?.match(/^Bearer\s+(\S+)$/i)?.[1];
}

/** Bearer-token authentication against the configured keys, compared in constant time. */
export function authenticate(keys: readonly string[], options: { readOpen: boolean }): RequestHandler {
  const match = keyMatcher(keys);
  return (req, _res, next) => {
    const token = bearerToken(req.get('authorization'));
    const principal = token ? match(token) : undefined;
    if (principal) {
      req.principal = principal;
      return next();
    }
    if (options.readOpen && (req.method === 'GET' || req.method === 'HEAD')) {
      req.principal = { keyId: 'anonymous' };
      return next();
    }
    next(
      new HttpProblem(
        401,
        'unauthorized',
        token ? 'the API key is not valid' : 'an API key is required: Authorization: Bearer <key>',
      ),
    );
  };
}
