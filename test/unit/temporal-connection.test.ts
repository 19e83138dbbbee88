import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, temporalConfigSchema } from '../../shared/config';
import { describeTransport, temporalConnectionOptions } from '../../shared/temporal-connection';

describe('Temporal connection options from configuration', () => {
  let dir: string;
  let ca: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'saga-tls-unit-'));
    [ca, cert, key] = ['ca.pem', 'client.pem', 'client.key'].map((name) => {
      const file = path.join(dir, name);
      writeFileSync(file, `-----BEGIN ${name}-----\n`);
      return file;
    }) as [string, string, string];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const options = (env: Record<string, string>) =>
    temporalConnectionOptions(loadConfig(temporalConfigSchema, env));

  test('plaintext unless something asks for TLS', () => {
    expect(options({})).toEqual({ address: '127.0.0.1:7233' });
    expect(describeTransport(options({}))).toBe('plaintext');
  });

  test('CA, client certificate and server name become the TLS options of both connection kinds', () => {
    const built = options({
      TEMPORAL_TLS_CA_FILE: ca,
      TEMPORAL_TLS_CERT_FILE: cert,
      TEMPORAL_TLS_KEY_FILE: key,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    expect(built.tls).toEqual({
      serverRootCACertificate: Buffer.from('-----BEGIN ca.pem-----\n'),
      clientCertPair: {
        crt: Buffer.from('-----BEGIN client.pem-----\n'),
        key: Buffer.from('-----BEGIN client.key-----\n'),
      },
      serverNameOverride: 'temporal.internal',
    });
    expect(describeTransport(built)).toBe('mTLS');
  });

  test('an API key implies TLS (system CAs) and is passed on; TEMPORAL_TLS=true alone too', () => {
    const built = options({ TEMPORAL_API_KEY: 'cloud-key' });
    expect(built).toEqual({ address: '127.0.0.1:7233', tls: true, apiKey: 'cloud-key' });
    expect(describeTransport(built)).toBe('TLS with an API key');
    expect(options({ TEMPORAL_TLS: 'true' }).tls).toBe(true);
  });

  test('refusals name the variable, never a file content or a key', () => {
    expect(() => options({ TEMPORAL_TLS_CA_FILE: path.join(dir, 'missing.pem') })).toThrow(
      'Invalid configuration: TEMPORAL_TLS_CA_FILE must name a readable file (check the path and its permissions)',
    );
    expect(() => options({ TEMPORAL_TLS_CERT_FILE: dir })).toThrow(
      /TEMPORAL_TLS_CERT_FILE must name a readable file/,
    );
    expect(() => options({ TEMPORAL_TLS_CERT_FILE: cert })).toThrow(
      new ConfigError(
        'Invalid configuration: TEMPORAL_TLS_KEY_FILE is required with TEMPORAL_TLS_CERT_FILE (a client certificate and its key)',
      ),
    );
    expect(() => options({ TEMPORAL_TLS_KEY_FILE: key })).toThrow(
      /TEMPORAL_TLS_CERT_FILE is required with TEMPORAL_TLS_KEY_FILE/,
    );
    expect(() => options({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_FILE: ca })).toThrow(
      /TEMPORAL_TLS is false/,
    );
  });
});
