import { randomBytes } from 'node:crypto';
import { createCodecServerApp } from '../../codec-server/app';
import { createLogger } from '../../shared/logger';
import { AesGcmPayloadCodec } from '../../shared/encryption/payload-codec';
import { startTestIssuer, type TestIssuer } from '../support/identity';
import { listen, type Listening } from '../support/listen';

/**
 * The codec server's HTTP contract, over real HTTP on a free port, as the Temporal Web UI (2.42, the one
 * `temporal server start-dev` serves) calls it: `fetch(endpoint + '/decode')` with `Content-Type` and
 * `X-Namespace` (a preflighted request), `credentials: 'include'` when the browser's codec settings ask for
 * cross-origin credentials. No Temporal server is needed; web-ui.test.ts drives the real Web UI.
 */
const UI_ORIGIN = 'http://127.0.0.1:8233';
const KEY = 'codec-server-test-key-0123456789';
const SECRET = 'tok_secret_4242';
/** An API key without codec:decode: it may use the API, not decrypt payloads. */
const API_ONLY_KEY = 'api-only-key-0123456789abcdef';

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const b64 = (text: string) => Buffer.from(text).toString('base64');
const plainPayload = (value: unknown): JsonPayload => ({
  metadata: { encoding: b64('json/plain') },
  data: b64(JSON.stringify(value)),
});

/** The sign-in form's anti-CSRF token and its cookie, as a browser gets them from GET /login. */
async function loginForm(base: string): Promise<{ csrf: string; cookie: string }> {
  const page = await fetch(`${base}/login`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  const cookie = page.headers.get('set-cookie')?.split(';')[0];
  if (!csrf || !cookie) throw new Error('GET /login gave no anti-CSRF token');
  return { csrf, cookie };
}

/** Signs in as the browser does: the form first, then a post with its token and cookie. */
async function signInAt(base: string, apiKey: string, headers: Record<string, string> = {}) {
  const { csrf, cookie } = await loginForm(base);
  return fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers },
    body: `apiKey=${encodeURIComponent(apiKey)}&csrf=${encodeURIComponent(csrf)}`,
  });
}

describe('codec server', () => {
  const logLines: string[] = [];
  const codecKey = randomBytes(32);
  let server: Listening;
  let url: string;
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    const app = createCodecServerApp({
      codec: new AesGcmPayloadCodec(new Map([['k1', codecKey]]), 'k1'),
      apiKeys: [KEY, { key: API_ONLY_KEY, scopes: ['sagas:start', 'sagas:read', 'sagas:operate'] }],
      jwt: issuer.config,
      allowedOrigins: [UI_ORIGIN],
      logger: createLogger('codec-server', 'debug', { write: (line: string) => logLines.push(line) }),
    });
    server = await listen(app);
    url = server.url;
  });
  afterAll(async () => {
    await server?.close();
    await issuer?.close();
  });

  function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    return fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }
  const bearer = { authorization: `Bearer ${KEY}` };

  async function expectProblem(response: Response, status: number) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const text = await response.text();
    expect(text).not.toMatch(/\n\s+at /); // no stack trace
    return JSON.parse(text) as { status: number; detail: string; errors?: { field: string }[] };
  }

  test('GET /health answers 200 without authentication', async () => {
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(200);
  });

  test('without a key, or with a wrong one, /decode and /encode answer 401 problem+json', async () => {
    for (const path of ['/decode', '/encode']) {
      const missing = await expectProblem(await post(path, { payloads: [] }), 401);
      expect(missing.status).toBe(401);
      await expectProblem(await post(path, { payloads: [] }, { authorization: 'Bearer not-the-key' }), 401);
    }
    // The 401 carries the CORS headers, so the Web UI can read why it failed.
    const fromUi = await post('/decode', { payloads: [] }, { origin: UI_ORIGIN });
    expect(fromUi.status).toBe(401);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  test('the API identities: codec:decode is required (403 naming it), from a key or a token', async () => {
    const empty = { payloads: [] };
    const apiOnly = await expectProblem(
      await post('/decode', empty, { authorization: `Bearer ${API_ONLY_KEY}` }),
      403,
    );
    expect(apiOnly.detail).toBe('this request needs the scope codec:decode');
    const withoutScope = await issuer.token('olga', 'sagas:read sagas:operate');
    await expectProblem(await post('/encode', empty, { authorization: `Bearer ${withoutScope}` }), 403);

    const operator = await issuer.token('olga', 'codec:decode', { alg: 'ES256' });
    expect((await post('/decode', empty, { authorization: `Bearer ${operator}` })).status).toBe(200);
    for (const refused of [
      await issuer.token('olga', 'codec:decode', { exp: -300 }),
      await issuer.token('olga', 'codec:decode', { claims: { aud: 'another-api' } }),
      await issuer.token('olga', 'codec:decode', { unpublished: true }),
      issuer.unsigned('olga', 'codec:decode'),
    ]) {
      const problem = await expectProblem(
        await post('/decode', empty, { authorization: `Bearer ${refused}` }),
        401,
      );
      expect(JSON.stringify(problem)).not.toContain(refused);
    }
    expect(logLines.join('')).toContain('"principal":"jwt:olga"');
  });

  test('refused credentials and sign-ins are rate limited per address', async () => {
    const limited = await listen(
      createCodecServerApp({
        codec: new AesGcmPayloadCodec(new Map([['k1', codecKey]]), 'k1'),
        apiKeys: [KEY],
        allowedOrigins: [UI_ORIGIN],
        logger: createLogger('codec-server', 'silent'),
        authFailuresPerMinute: 2,
      }),
    );
    try {
      const decode = (key: string) =>
        fetch(`${limited.url}/decode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ payloads: [] }),
        });
      expect((await decode(KEY)).status).toBe(200);
      expect((await decode('wrong-key-1-0123456789')).status).toBe(401);
      expect((await decode('wrong-key-2-0123456789')).status).toBe(401);
      const blocked = await decode('wrong-key-3-0123456789');
      expect(blocked.status).toBe(429);
      expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
      const signIn = (apiKey: string) => signInAt(limited.url, apiKey);
      expect((await signIn('wrong-key-4-0123456789')).status).toBe(401);
      expect((await signIn('wrong-key-5-0123456789')).status).toBe(401);
      const tooMany = await signIn(KEY);
      expect(tooMany.status).toBe(429);
      expect(tooMany.headers.get('set-cookie') ?? '').not.toContain('saga_codec_session=');
    } finally {
      await limited.close();
    }
  });

  test('CORS: the Web UI origin may preflight with credentials, another origin may not', async () => {
    const preflight = (origin: string) =>
      fetch(`${url}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const allowed = await preflight(UI_ORIGIN);
    expect(allowed.status).toBeLessThan(300);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const allowedHeaders = allowed.headers.get('access-control-allow-headers')?.toLowerCase() ?? '';
    for (const header of ['content-type', 'x-namespace', 'authorization'])
      expect(allowedHeaders).toContain(header);

    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const lookalike = await preflight('http://127.0.0.1:8234');
    expect(lookalike.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('encode then decode round-trips; the encoded form hides the content', async () => {
    const plain = [plainPayload({ paymentToken: SECRET }), plainPayload('second')];
    const encoded = await post('/encode', { payloads: plain }, bearer);
    expect(encoded.status).toBe(200);
    const sealed = (await encoded.json()) as { payloads: JsonPayload[] };
    expect(sealed.payloads).toHaveLength(2);
    for (const payload of sealed.payloads) {
      expect(Buffer.from(payload.metadata!.encoding!, 'base64').toString()).toBe('binary/encrypted');
      expect(Buffer.from(payload.metadata!['encryption-key-id']!, 'base64').toString()).toBe('k1');
      expect(Buffer.from(payload.data!, 'base64').toString('latin1')).not.toContain(SECRET);
    }
    const decoded = await post('/decode', sealed, bearer);
    expect(decoded.status).toBe(200);
    expect(((await decoded.json()) as { payloads: JsonPayload[] }).payloads).toEqual(plain);
  });

  test('decode passes payloads that were never encrypted through unchanged', async () => {
    const plain = { payloads: [plainPayload({ old: 'history' })] };
    const response = await post('/decode', plain, bearer);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(plain);
  });

  test('bad bodies get a problem naming the field', async () => {
    const notBase64 = await expectProblem(
      await post('/decode', { payloads: [{ data: 'no!' }] }, bearer),
      422,
    );
    expect(notBase64.errors?.[0]?.field).toBe('body.payloads.0.data');
    expect(notBase64.detail).toContain('body.payloads.0.data');

    const noPayloads = await expectProblem(await post('/decode', { payload: [] }, bearer), 422);
    expect(noPayloads.errors?.map((e) => e.field)).toContain('body.payloads');

    const badMetadata = await expectProblem(
      await post('/encode', { payloads: [{ metadata: { encoding: 42 } }] }, bearer),
      422,
    );
    expect(badMetadata.errors?.[0]?.field).toBe('body.payloads.0.metadata.encoding');

    const malformed = await expectProblem(await post('/decode', '{"payloads": [', bearer), 400);
    expect(malformed.detail).toContain('not valid JSON');
  });

  test('a payload under an unknown key id, or tampered with, is refused naming the key id only', async () => {
    const other = new AesGcmPayloadCodec(new Map([['retired-key', randomBytes(32)]]), 'retired-key');
    const [foreign] = await other.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') },
    ]);
    const asJson = {
      metadata: Object.fromEntries(
        Object.entries(foreign!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
      ),
      data: Buffer.from(foreign!.data!).toString('base64'),
    };
    const unknown = await expectProblem(await post('/decode', { payloads: [asJson] }, bearer), 400);
    expect(unknown.detail).toContain('retired-key');
    expect(unknown.detail).not.toContain(codecKey.toString('base64'));

    const sealed = (await (await post('/encode', { payloads: [plainPayload('x')] }, bearer)).json()) as {
      payloads: JsonPayload[];
    };
    const bytes = Buffer.from(sealed.payloads[0]!.data!, 'base64');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    const tampered = { ...sealed.payloads[0], data: bytes.toString('base64') };
    await expectProblem(await post('/decode', { payloads: [tampered] }, bearer), 400);
  });

  test('/login sets an HttpOnly SameSite=Lax session cookie that authenticates /decode', async () => {
    const page = await fetch(`${url}/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="apiKey"');

    const login = (apiKey: string) => signInAt(url, apiKey);
    const wrong = await login('not-the-key');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie') ?? '').not.toContain('saga_codec_session=');
    expect(await wrong.text()).not.toContain('not-the-key');

    // An identity without codec:decode gets no session.
    const apiOnly = await login(API_ONLY_KEY);
    expect(apiOnly.status).toBe(403);
    expect(apiOnly.headers.get('set-cookie') ?? '').not.toContain('saga_codec_session=');
    expect(await apiOnly.text()).toContain('codec:decode');
    // A token with the scope signs in too.
    const tokenLogin = await login(await issuer.token('olga', 'codec:decode'));
    expect(tokenLogin.status).toBe(200);
    expect(tokenLogin.headers.get('set-cookie')).toMatch(/saga_codec_session=/);

    const ok = await login(KEY);
    expect(ok.status).toBe(200);
    // The page tells the operator the Web UI settings that make the UI send the cookie.
    const instructions = await ok.text();
    expect(instructions).toContain(`<code>${url}</code>`);
    expect(instructions).toContain('Use my browser setting and ignore Cluster-level setting');
    expect(instructions).toContain('Include cross-origin credentials');
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toContain(KEY);
    expect(cookie).not.toMatch(/;\s*Secure/i); // plain HTTP here; https.test.ts checks Secure
    const session = cookie
      .split(/,(?=\s*saga_codec_session=)|;/)
      .find((part) => part.includes('saga_codec_session='))!
      .trim();
    expect((await post('/decode', { payloads: [] }, { cookie: session, origin: UI_ORIGIN })).status).toBe(
      200,
    );
    const forged = `${session.slice(0, -2)}xx`;
    await expectProblem(await post('/decode', { payloads: [] }, { cookie: forged }), 401);
  });

  test("/login refuses a post without the form's anti-CSRF token, with a forged one, or from another origin", async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    const key = `apiKey=${encodeURIComponent(KEY)}`;
    const noToken = await post(key);
    expect(noToken.status).toBe(403);
    expect(noToken.headers.get('set-cookie')).not.toMatch(/saga_codec_session=/);
    const { csrf, cookie } = await loginForm(url);
    // The token without its cookie (what a cross-site form could send), and a token not signed here.
    expect((await post(`${key}&csrf=${encodeURIComponent(csrf)}`)).status).toBe(403);
    const forged = `${csrf.split('.')[0]}.${'A'.repeat(43)}`;
    expect(
      (await post(`${key}&csrf=${encodeURIComponent(forged)}`, { cookie: `saga_codec_csrf=${forged}` }))
        .status,
    ).toBe(403);
    // The right token and cookie, but posted from another site's page.
    const crossSite = await post(`${key}&csrf=${encodeURIComponent(csrf)}`, {
      cookie,
      origin: 'https://evil.example',
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get('set-cookie')).not.toMatch(/saga_codec_session=/);
    // The same post from this server's own page signs in.
    const sameSite = await signInAt(url, KEY, { origin: url });
    expect(sameSite.status).toBe(200);
    expect(sameSite.headers.get('set-cookie')).toMatch(/saga_codec_session=/);
  });

  test('/login is rate limited per address, successful sign-ins included', async () => {
    const limited = await listen(
      createCodecServerApp({
        codec: new AesGcmPayloadCodec(new Map([['k1', codecKey]]), 'k1'),
        apiKeys: [KEY],
        allowedOrigins: [UI_ORIGIN],
        logger: createLogger('codec-server', 'silent'),
        loginAttemptsPerMinute: 2,
      }),
    );
    try {
      expect((await signInAt(limited.url, KEY)).status).toBe(200);
      expect((await signInAt(limited.url, KEY)).status).toBe(200);
      const third = await signInAt(limited.url, KEY);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(third.headers.get('set-cookie')).not.toMatch(/saga_codec_session=/);
      // The form itself stays available.
      expect((await fetch(`${limited.url}/login`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  test('logs name the key id and the count, never payload contents or keys', async () => {
    await post('/encode', { payloads: [plainPayload({ paymentToken: SECRET })] }, bearer);
    const logs = logLines.join('');
    expect(logs).toContain('codec encode');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(b64(JSON.stringify({ paymentToken: SECRET })));
    expect(logs).not.toContain(KEY);
    expect(logs).not.toContain(codecKey.toString('base64'));
  });
});
