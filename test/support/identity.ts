import express from 'express';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, type JWTPayload, type KeyLike } from 'jose';
import type { JwtConfig } from '../../shared/config';
import { listen, type Listening } from './listen';

/**
 * A stand-in OIDC issuer for tests: a real HTTP server publishing a JWKS document with an RS256 and an
 * ES256 key generated here, and the means to sign tokens with them (or with a key it does not publish).
 */
export interface TestIssuer {
  issuer: string;
  audience: string;
  jwksUrl: URL;
  /** The API's configuration for this issuer. */
  config: JwtConfig;
  /** The published public keys, as a static key set (API_JWT_JWKS). */
  publicKeys: { keys: Record<string, unknown>[] };
  /** How many times the JWKS document was fetched. */
  fetches(): number;
  /**
   * A signed token for `sub` with `scope`; claims and header override the defaults (exp in 10 minutes,
   * this issuer and audience, the RS256 key).
   */
  token(
    sub: string,
    scope: string,
    options?: {
      alg?: 'RS256' | 'ES256';
      claims?: JWTPayload;
      /** Seconds from now; negative for the past. */
      exp?: number;
      nbf?: number;
      kid?: string;
      /** Sign with a key the issuer does not publish. */
      unpublished?: boolean;
    },
  ): Promise<string>;
  /** A token with `alg: none` (no signature). */
  unsigned(sub: string, scope: string): string;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const rsa = await generateKeyPair('RS256');
  const ec = await generateKeyPair('ES256');
  const rogue = await generateKeyPair('RS256');
  const publicKeys = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ],
  };
  let fetches = 0;
  const app = express();
  app.get('/.well-known/jwks.json', (_req, res) => {
    fetches++;
    res.json(publicKeys);
  });
  const server: Listening = await listen(app);
  const issuer = `${server.url}/`;
  const audience = 'saga-api-test';
  const jwksUrl = new URL(`${server.url}/.well-known/jwks.json`);
  const now = () => Math.floor(Date.now() / 1000);
  return {
    issuer,
    audience,
    jwksUrl,
    config: { issuer, audience, jwksUrl, algorithms: ['RS256', 'ES256'], clockToleranceSeconds: 5 },
    publicKeys,
    fetches: () => fetches,
    async token(sub, scope, options = {}) {
      const alg = options.alg ?? 'RS256';
      const key: KeyLike = options.unpublished
        ? rogue.privateKey
        : alg === 'RS256'
          ? rsa.privateKey
          : ec.privateKey;
      const kid = options.kid ?? (options.unpublished ? 'rogue-1' : alg === 'RS256' ? 'rsa-1' : 'ec-1');
      const jwt = new SignJWT({ scope, ...options.claims })
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(now() + (options.exp ?? 600));
      if (options.nbf !== undefined) jwt.setNotBefore(now() + options.nbf);
      if (options.claims) {
        // Explicit claims win over the defaults (e.g. another issuer or audience).
        for (const [claim, value] of Object.entries(options.claims)) {
          if (claim === 'iss') jwt.setIssuer(String(value));
          if (claim === 'aud') jwt.setAudience(value as string);
        }
      }
      return jwt.sign(key);
    },
    unsigned(sub, scope) {
      return new UnsecuredJWT({ scope })
        .setSubject(sub)
        .setIssuer(issuer)
        .setAudience(audience)
        .setExpirationTime(now() + 600)
        .encode();
    },
    close: () => server.close(),
  };
}
