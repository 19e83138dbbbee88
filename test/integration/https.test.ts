import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createCodecServerApp } from '../../codec-server/app';
import { startApiServer, type ApiServer } from '../../api/server';
import {
  ConfigError,
  apiConfigSchema,
  loadConfig,
  sagaConfigSchema,
  temporalConfigSchema,
} from '../../shared/config';
import { AesGcmPayloadCodec } from '../../shared/encryption/payload-codec';
import { createServer } from '../../shared/http-server';
import { generateTestPki, type TestPki } from '../support/certificates';
import { httpsRequest } from '../support/https';
import { requireEnv, TEST_ENV } from '../support/env';

/**
 * HTTPS from a configured certificate (API_TLS_*, CODEC_SERVER_TLS_*), with certificates generated here:
 * a request over https succeeds and the server presents exactly the configured certificate; the codec
 * server's cookies are Secure under HTTPS.
 */
const KEY = 'https-test-key-0123456789abcdef';

describe('HTTPS', () => {
  let dir: string;
  let pki: TestPki;
  let ca: Buffer;
  let fingerprint: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'saga-https-'));
    pki = generateTestPki(dir);
    ca = readFileSync(pki.caFile);
    fingerprint = new X509Certificate(readFileSync(pki.server.certFile)).fingerprint256;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the API serves https with the configured certificate', async () => {
    const config = loadConfig(
      temporalConfigSchema.extend(sagaConfigSchema.shape).extend(apiConfigSchema.shape),
      {
        TEMPORAL_ADDRESS: requireEnv(TEST_ENV.temporalAddress),
        API_KEYS: KEY,
        API_PORT: '0',
        API_TLS_CERT_FILE: pki.server.certFile,
        API_TLS_KEY_FILE: pki.server.keyFile,
      },
    );
    let api: ApiServer | undefined;
    try {
      api = await startApiServer(config, pino({ level: 'silent' }));
      expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const live = await httpsRequest(`${api.url}/health/live`, ca);
      expect(live.status).toBe(200);
      expect(live.fingerprint).toBe(fingerprint);
      // Plain HTTP on the same port gets no answer from the API.
      await expect(fetch(api.url.replace('https:', 'http:') + '/health/live')).rejects.toThrow();
    } finally {
      await api?.close();
    }
  });

  test('the codec server serves https; its anti-CSRF and session cookies are Secure', async () => {
    const app = createCodecServerApp({
      codec: new AesGcmPayloadCodec(new Map([['k1', Buffer.alloc(32, 7)]]), 'k1'),
      apiKeys: [KEY],
      allowedOrigins: ['https://127.0.0.1:8233'],
      logger: pino({ level: 'silent' }),
    });
    const { server, scheme } = createServer(app, {
      certFile: pki.server.certFile,
      keyFile: pki.server.keyFile,
      variables: ['CODEC_SERVER_TLS_CERT_FILE', 'CODEC_SERVER_TLS_KEY_FILE'],
    });
    expect(scheme).toBe('https');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const form = await httpsRequest(`${url}/login`, ca);
      expect(form.status).toBe(200);
      expect(form.fingerprint).toBe(fingerprint);
      const csrfCookie = form.setCookie.find((c) => c.startsWith('saga_codec_csrf='))!;
      expect(csrfCookie).toMatch(/;\s*Secure/i);
      const csrf = /name="csrf" value="([^"]+)"/.exec(form.body)![1]!;
      const login = await httpsRequest(`${url}/login`, ca, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: csrfCookie.split(';')[0]!,
          origin: url,
        },
        body: `apiKey=${encodeURIComponent(KEY)}&csrf=${encodeURIComponent(csrf)}`,
      });
      expect(login.status).toBe(200);
      const session = login.setCookie.find((c) => c.startsWith('saga_codec_session='))!;
      expect(session).toMatch(/;\s*Secure/i);
      expect(session).toMatch(/HttpOnly/i);
      const decode = await httpsRequest(`${url}/decode`, ca, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: session.split(';')[0]! },
        body: JSON.stringify({ payloads: [] }),
      });
      expect(decode.status).toBe(200);
    } finally {
      await new Promise<void>((resolve) => (server as Server).close(() => resolve()));
    }
  });

  test('a certificate without its key, or an unreadable file, is refused naming the variable', () => {
    expect(() =>
      createServer(() => undefined, {
        certFile: pki.server.certFile,
        variables: ['API_TLS_CERT_FILE', 'API_TLS_KEY_FILE'],
      }),
    ).toThrow(
      new ConfigError(
        'Invalid configuration: API_TLS_KEY_FILE is required with API_TLS_CERT_FILE (a certificate and its key)',
      ),
    );
    expect(() =>
      loadConfig(apiConfigSchema, { API_KEYS: KEY, API_TLS_CERT_FILE: path.join(dir, 'missing.pem') }),
    ).toThrow(/^Invalid configuration: API_TLS_CERT_FILE must name a readable file/);
    // A key that is not the certificate's.
    expect(() =>
      createServer(() => undefined, {
        certFile: pki.server.certFile,
        keyFile: pki.client.keyFile,
        variables: ['API_TLS_CERT_FILE', 'API_TLS_KEY_FILE'],
      }),
    ).toThrow(/API_TLS_CERT_FILE\/API_TLS_KEY_FILE are not a usable certificate and key/);
  });
});
