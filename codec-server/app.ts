import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import cors from 'cors';
import { rateLimit } from 'express-rate-limit';
import express, { type Express, type RequestHandler } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from 'pino';
import {
  authFailureLimiter,
  bearerToken,
  createAuthenticator,
  type ApiKeyOption,
  type Principal,
} from '../api/auth';
import type { JwtConfig } from '../shared/config';
import type { Scope } from '../shared/scopes';
import { HttpProblem, finalHandlers, validationProblem } from '../api/problem';
import { z } from '../shared/zod';

/** Temporal's codec server wire format: payload metadata values and data in base64. */
const base64 = z.base64('must be base64');
const payloadsBodySchema = z.strictObject({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
    .max(10_000),
});

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** The API's keys (and tokens): an operator authenticates with the same identity, needing codec:decode. */
  apiKeys: readonly ApiKeyOption[];
  jwt?: JwtConfig;
  /** Refused sign-ins and credentials per client address and minute before 429 (default 60). */
  authFailuresPerMinute?: number;
  /** Origins of the Web UI allowed to call /encode and /decode from the browser. */
  allowedOrigins: readonly string[];
  logger: Logger;
  /** How long a browser session from /login lasts. */
  sessionSeconds?: number;
  /** Sign-in attempts (POST /login, whatever their outcome) per client address and minute (default 20). */
  loginAttemptsPerMinute?: number;
  /** Reverse proxies trusted to name the client (Express's `trust proxy`); none by default. */
  trustProxy?: number | string[];
}

const SESSION_COOKIE = 'saga_codec_session';
/** The sign-in form's anti-CSRF token (signed double submit: the same value in this cookie and the form). */
const CSRF_COOKIE = 'saga_codec_csrf';
/** What every call (and a sign-in) needs; a session grants nothing else. */
const CODEC_SCOPE: Scope = 'codec:decode';

/**
 * The codec server the Temporal Web UI calls to show decrypted payloads to an operator, and that tools can
 * call with an API key. Authentication: `Authorization: Bearer <API key>`, or, for the browser, a session
 * cookie from /login.
 *
 * How the Web UI (2.42, served by `temporal server start-dev --ui-codec-endpoint`) calls it:
 * `fetch(endpoint + '/decode')` with `Content-Type` and `X-Namespace` only. It sends `Authorization` only
 * with "pass access token", which needs an https endpoint and a UI with its own login (the dev server has
 * neither), so a browser authenticates with the cookie, which `fetch` sends only with
 * `credentials: 'include'`. The dev server cannot set that at cluster level, and the UI ignores the
 * browser's "Include cross-origin credentials" while the cluster-level endpoint is used: the operator
 * must choose "Use my browser setting and ignore Cluster-level setting" in the UI's Codec Server settings,
 * with this endpoint and that box ticked. The cookie is SameSite=Lax, so the UI, /login and the endpoint
 * must use the same host name (127.0.0.1 and localhost are different sites).
 */
export function createCodecServerApp(options: CodecServerOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  const sessions = sessionTokens(options.sessionSeconds ?? 8 * 3600);
  const authenticator = createAuthenticator({ apiKeys: options.apiKeys, jwt: options.jwt });
  const failures = options.authFailuresPerMinute ?? 60;
  const failureLimiter = authFailureLimiter(failures);

  app.use(
    cors({
      origin: [...options.allowedOrigins],
      credentials: true,
      methods: ['POST', 'GET'],
      allowedHeaders: ['Content-Type', 'X-Namespace', 'Authorization', 'Authorization-Extras'],
      maxAge: 600,
    }),
  );
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const csrf = csrfTokens();
  /** The form with a fresh anti-CSRF token, set in a cookie too (Secure under HTTPS, like the session). */
  const loginPage = (req: express.Request, res: express.Response, status = 200, error?: string) => {
    const token = csrf.issue();
    res.cookie(CSRF_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.secure,
      path: '/login',
      maxAge: 3600 * 1000,
    });
    res
      .status(status)
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(
        LOGIN_PAGE.replace('<!--csrf-->', token).replace(
          '<!--error-->',
          error ? `<p class="error">${error}</p>` : '',
        ),
      );
  };
  app.get('/login', (req, res) => loginPage(req, res));
  const loginRefused = (req: express.Request, res: express.Response, status: number, message: string) =>
    loginPage(req, res, status, message);
  app.post(
    '/login',
    // Every attempt counts here, a successful one too: guessing keys and flooding sign-ins both stop.
    rateLimit({
      windowMs: 60_000,
      limit: options.loginAttemptsPerMinute ?? 20,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: (req, res, _next, limiterOptions) => {
        res.set('Retry-After', String(Math.ceil(limiterOptions.windowMs / 1000)));
        loginRefused(req, res, 429, 'Too many sign-ins from this address; try again in a minute.');
      },
    }),
    authFailureLimiter(failures, (req, res) => {
      loginRefused(req, res, 429, 'Too many failed sign-ins from this address; try again in a minute.');
    }),
    express.urlencoded({ extended: false, limit: '8kb' }),
    async (req, res) => {
      // A cross-site form post (login CSRF: signing the victim's browser in as someone else) is refused:
      // by its Origin when the browser sends one, and by the token it cannot read in any case.
      const origin = req.get('origin');
      const formToken = typeof req.body?.csrf === 'string' ? req.body.csrf : undefined;
      if (
        (origin !== undefined && origin !== `${req.protocol}://${req.get('host') ?? ''}`) ||
        !csrf.verify(cookieValue(req.get('cookie'), CSRF_COOKIE), formToken)
      ) {
        options.logger.warn({ origin }, 'codec sign-in refused: missing or wrong anti-CSRF token');
        return loginRefused(req, res, 403, 'The sign-in form expired or came from another site; try again.');
      }
      const credential = typeof req.body?.apiKey === 'string' ? req.body.apiKey.trim() : '';
      let principal: Principal | undefined;
      try {
        principal = credential ? await authenticator.verify(credential) : undefined;
      } catch (error) {
        if (error instanceof HttpProblem && error.status !== 401) {
          return loginRefused(req, res, error.status, 'The token issuer cannot be reached; try again later.');
        }
      }
      if (!principal) return loginRefused(req, res, 401, 'That API key or token is not valid.');
      if (!principal.scopes.has(CODEC_SCOPE)) {
        return loginRefused(req, res, 403, `That identity lacks the scope ${CODEC_SCOPE}.`);
      }
      res.clearCookie(CSRF_COOKIE, { path: '/login' });
      res.cookie(SESSION_COOKIE, sessions.issue(principal), {
        httpOnly: true,
        sameSite: 'lax',
        // Under HTTPS the browser never sends the session over plain HTTP.
        secure: req.secure,
        path: '/',
        maxAge: (options.sessionSeconds ?? 8 * 3600) * 1000,
      });
      options.logger.info({ principal: principal.id }, 'codec session opened');
      // The endpoint as this browser reached it, so the UI setting uses the same host name as the cookie.
      res.type('html').send(loggedInPage(`${req.protocol}://${req.get('host') ?? ''}`));
    },
  );

  const authenticate: RequestHandler = async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    let principal: Principal | undefined;
    try {
      principal = token
        ? await authenticator.verify(token)
        : sessions.verify(cookieValue(req.get('cookie'), SESSION_COOKIE));
    } catch (error) {
      return next(error);
    }
    if (!principal) {
      return next(
        new HttpProblem(
          401,
          'unauthorized',
          'an API key or token (Authorization: Bearer ...) or a session from /login is required',
        ),
      );
    }
    if (!principal.scopes.has(CODEC_SCOPE)) {
      res.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${CODEC_SCOPE}"`);
      return next(
        new HttpProblem(403, 'insufficient-scope', `this request needs the scope ${CODEC_SCOPE}`, [
          { field: 'header.authorization', rule: 'missing_scope', message: `needs the scope ${CODEC_SCOPE}` },
        ]),
      );
    }
    req.principal = principal;
    next();
  };

  for (const direction of ['encode', 'decode'] as const) {
    app.post(
      `/${direction}`,
      failureLimiter,
      authenticate,
      express.json({ limit: '8mb' }),
      async (req, res, next) => {
        try {
          const parsed = payloadsBodySchema.safeParse(req.body);
          if (!parsed.success) throw validationProblem(parsed.error, 'body');
          const payloads = parsed.data.payloads.map(fromJson);
          const result = await options.codec[direction](payloads);
          options.logger.info(
            { principal: req.principal?.id, namespace: req.get('x-namespace'), count: payloads.length },
            `codec ${direction}`,
          );
          res.json({ payloads: result.map(toJson) });
        } catch (error) {
          if (error instanceof HttpProblem) return next(error);
          // A payload this server cannot decrypt (tampered, or an unknown key id): the caller's input.
          next(
            new HttpProblem(
              400,
              'undecodable-payload',
              `payloads could not be ${direction}d: ${(error as Error).message}`,
            ),
          );
        }
      },
    );
  }

  app.use(...finalHandlers(options.logger));
  return app;
}

type JsonPayload = { metadata?: Record<string, string>; data?: string };

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [
        k,
        Buffer.from(v ?? new Uint8Array()).toString('base64'),
      ]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/**
 * Anti-CSRF tokens for the sign-in form, the signed double-submit pattern (OWASP): a random value and its
 * HMAC under this process's secret, in a cookie and in the form. A post must carry the same valid token in
 * both; another site can neither read the cookie nor plant a token it could sign.
 */
function csrfTokens() {
  const secret = randomBytes(32);
  const sign = (nonce: string) => createHmac('sha256', secret).update(`csrf.${nonce}`).digest('base64url');
  return {
    issue(): string {
      const nonce = randomBytes(18).toString('base64url');
      return `${nonce}.${sign(nonce)}`;
    },
    verify(cookie: string | undefined, form: string | undefined): boolean {
      if (!cookie || !form) return false;
      const [a, b] = [Buffer.from(cookie), Buffer.from(form)];
      if (a.length !== b.length || !timingSafeEqual(a, b)) return false;
      const [nonce, signature] = cookie.split('.');
      if (!nonce || !signature) return false;
      const expected = Buffer.from(sign(nonce));
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/** Signed, expiring session tokens; the secret lives in this process, so a restart ends every session. */
function sessionTokens(lifetimeSeconds: number) {
  const secret = randomBytes(32);
  const sign = (body: string) => createHmac('sha256', secret).update(body).digest('base64url');
  return {
    issue(principal: Principal): string {
      const body = `${Buffer.from(principal.id).toString('base64url')}.${Math.floor(Date.now() / 1000) + lifetimeSeconds}`;
      return `${body}.${sign(body)}`;
    },
    /** A session was issued only to an identity with codec:decode, and grants only that. */
    verify(token: string | undefined): Principal | undefined {
      const [id, expires, signature] = token?.split('.') ?? [];
      if (!id || !expires || !signature) return undefined;
      const expected = Buffer.from(sign(`${id}.${expires}`));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      return Number(expires) * 1000 > Date.now()
        ? { id: Buffer.from(id, 'base64url').toString(), scopes: new Set([CODEC_SCOPE]) }
        : undefined;
    },
  };
}

const PAGE_STYLE =
  '<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;line-height:1.5}input{width:100%;padding:.5rem}button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b00}</style>';

const LOGIN_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Saga codec server</title>${PAGE_STYLE}</head><body>
<h1>Decode payloads in the Temporal Web UI</h1>
<p>Saga encrypts payloads (tokens, addresses, customer ids). Sign in with an API key or an access token (scope codec:decode) so this browser may ask the codec server to decrypt them.</p>
<!--error-->
<form method="post" action="/login"><input type="hidden" name="csrf" value="<!--csrf-->"><label>API key or token <input name="apiKey" type="password" autocomplete="off" required></label><button type="submit">Sign in</button></form>
</body></html>`;

function loggedInPage(endpoint: string): string {
  const safe = endpoint.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>Saga codec server</title>${PAGE_STYLE}</head><body>
<h1>Signed in</h1>
<p>This browser now holds a session for this codec server. In the Temporal Web UI, open the <b>Codec Server</b>
settings and:</p>
<ol><li>choose <b>Use my browser setting and ignore Cluster-level setting</b>,</li>
<li>set <b>Codec Server browser endpoint</b> to <code>${safe}</code> (no trailing slash),</li>
<li>tick <b>Include cross-origin credentials</b>, and apply.</li></ol>
<p>Without the first step the UI does not send this session. Open the Web UI under the same host name as this
page (<code>127.0.0.1</code> and <code>localhost</code> do not share the session). Payloads are then shown
decrypted in this browser.</p>
</body></html>`;
}
