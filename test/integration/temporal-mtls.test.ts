import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { dropDatabaseIfExists } from '../../scripts/db/ensure-database';
import { freeClusterPorts, startCluster, type TemporalCluster } from '../../scripts/temporal/cluster';
import pino from 'pino';
import { startApiServer } from '../../api/server';
import { apiConfigSchema, loadConfig, sagaConfigSchema, temporalConfigSchema } from '../../shared/config';
import { temporalConnectionOptions, type TemporalConnectionOptions } from '../../shared/temporal-connection';
import { generateTestPki, type TestPki } from '../support/certificates';
import { requireEnv, TEST_ENV } from '../support/env';
import { httpsRequest } from '../support/https';
import { sampleOrder, startSaga } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { startStack, testDataConverter, type Stack } from '../support/stack';

const API_KEY = 'mtls-test-key-0123456789abcdef';

/**
 * The Temporal cluster (the production server, TEMPORAL_MODE=cluster) with mTLS on its frontend
 * (global.tls.frontend, requireClientAuth) from certificates this test generates; a client and workers
 * configured with TEMPORAL_TLS_* run a whole saga through it, and clients without a certificate, with one
 * of another CA, or in plaintext are refused. Its own cluster (one history and one matching node), on
 * databases of its own, beside whatever server the rest of the run uses.
 */
describe('Temporal over mTLS', () => {
  let dir: string;
  let pki: TestPki;
  let cluster: TemporalCluster;
  let stack: Stack | undefined;
  const dbs = openServiceDbs();
  const prefix = `${process.env.TEST_DATABASE_PREFIX ?? 'saga_test_'}mtls_`;
  const postgresUrl = (() => {
    const url = new URL(requireEnv(TEST_ENV.ordersDb));
    url.pathname = '/postgres';
    return url.toString();
  })();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'saga-mtls-'));
    pki = generateTestPki(path.join(dir, 'pki'));
    cluster = await startCluster({
      ports: await freeClusterPorts({ history: 1, matching: 1 }),
      postgresUrl,
      databasePrefix: prefix,
      dataDir: path.join(dir, 'data'),
      fresh: true,
      tls: {
        certFile: pki.server.certFile,
        keyFile: pki.server.keyFile,
        clientCaFiles: [pki.caFile],
        serverCaFile: pki.caFile,
        serverName: 'localhost',
        clientCertFile: pki.client.certFile,
        clientKeyFile: pki.client.keyFile,
      },
    });
  }, 400_000);

  afterAll(async () => {
    await stack?.stop();
    await cluster?.stop();
    await dbs.close();
    for (const suffix of ['temporal', 'temporal_visibility'])
      await dropDatabaseIfExists(
        Object.assign(new URL(postgresUrl), { pathname: `/${prefix}${suffix}` }).toString(),
      );
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** What every process builds from its environment. */
  const fromEnv = (env: Record<string, string>): TemporalConnectionOptions =>
    temporalConnectionOptions(
      loadConfig(temporalConfigSchema, { TEMPORAL_ADDRESS: cluster.address, ...env }),
    );

  const withClientCert = () =>
    fromEnv({
      TEMPORAL_TLS_CA_FILE: pki.caFile,
      TEMPORAL_TLS_CERT_FILE: pki.client.certFile,
      TEMPORAL_TLS_KEY_FILE: pki.client.keyFile,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    });

  test('a client and workers with the client certificate complete a saga', async () => {
    const options = withClientCert();
    expect(options.tls).toMatchObject({ serverNameOverride: 'localhost' });
    stack = await startStack({ connection: options });
    const handle = await startSaga(stack);
    const outcome = await handle.result();
    expect(outcome.status).toBe('COMPLETED');
    const rows = await dbs.rowsOf(handle.workflowId);
    expect(rows.payment).toMatchObject({ status: 'CAPTURED' });
    expect(rows.shipment).toMatchObject({ status: 'SCHEDULED' });
  });

  test('a saga started over HTTPS through the API, which reaches Temporal over mTLS, completes', async () => {
    // The API as its process runs it: Temporal's and its own TLS from the environment.
    const config = loadConfig(
      temporalConfigSchema.extend(sagaConfigSchema.shape).extend(apiConfigSchema.shape),
      {
        TEMPORAL_ADDRESS: cluster.address,
        TEMPORAL_TLS_CA_FILE: pki.caFile,
        TEMPORAL_TLS_CERT_FILE: pki.client.certFile,
        TEMPORAL_TLS_KEY_FILE: pki.client.keyFile,
        TEMPORAL_TLS_SERVER_NAME: 'localhost',
        TASK_QUEUE_PREFIX: stack?.prefix,
        API_KEYS: API_KEY,
        API_PORT: '0',
        API_TLS_CERT_FILE: pki.server.certFile,
        API_TLS_KEY_FILE: pki.server.keyFile,
      },
    );
    const api = await startApiServer(config, pino({ level: 'silent' }), {
      dataConverter: testDataConverter(),
    });
    try {
      const res = await httpsRequest(`${api.url}/sagas?waitSeconds=30`, readFileSync(pki.caFile), {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(sampleOrder()),
      });
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body) as { sagaId: string; status: string };
      expect(body.status).toBe('COMPLETED');
      const rows = await dbs.rowsOf(body.sagaId);
      expect(rows.order).toMatchObject({ status: 'APPROVED' });
      expect(rows.payment).toMatchObject({ status: 'CAPTURED' });
      expect(rows.shipment).toMatchObject({ status: 'SCHEDULED' });
    } finally {
      await api.close();
    }
  });

  /** A call through a client connection; the frontend refuses the handshake, so the call fails. */
  async function clientCall(options: TemporalConnectionOptions): Promise<void> {
    const connection = await Connection.connect({ ...options, connectTimeout: 10_000 });
    try {
      await connection.workflowService.getSystemInfo({});
    } finally {
      await connection.close();
    }
  }

  test('a client without a certificate is refused', async () => {
    const noCert = fromEnv({ TEMPORAL_TLS_CA_FILE: pki.caFile, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    await expect(clientCall(noCert)).rejects.toThrow();
    await expect(NativeConnection.connect(noCert)).rejects.toThrow();
  });

  test('a client certificate of another CA is refused', async () => {
    const otherCa = fromEnv({
      TEMPORAL_TLS_CA_FILE: pki.caFile,
      TEMPORAL_TLS_CERT_FILE: pki.otherClient.certFile,
      TEMPORAL_TLS_KEY_FILE: pki.otherClient.keyFile,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    });
    await expect(clientCall(otherCa)).rejects.toThrow();
    await expect(NativeConnection.connect(otherCa)).rejects.toThrow();
  });

  test('a plaintext client is refused, and a client that does not trust the server refuses it', async () => {
    await expect(clientCall(fromEnv({}))).rejects.toThrow();
    const distrustful = fromEnv({
      TEMPORAL_TLS_CA_FILE: pki.otherCaFile,
      TEMPORAL_TLS_CERT_FILE: pki.client.certFile,
      TEMPORAL_TLS_KEY_FILE: pki.client.keyFile,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    });
    await expect(clientCall(distrustful)).rejects.toThrow();
  });

  test('the frontend presents the configured certificate', () => {
    // The server config the cluster wrote names the generated files (global.tls.frontend).
    const config = readFileSync(
      path.join(dir, 'data', 'cluster', 'config', 'temporal-frontend.yaml'),
      'utf8',
    );
    expect(config).toContain('requireClientAuth: true');
    expect(config).toContain(pki.server.certFile);
  });
});
