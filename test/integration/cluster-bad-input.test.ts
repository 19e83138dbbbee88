import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { dropDatabaseIfExists } from '../../scripts/db/ensure-database';
import { portInUse } from '../../scripts/lib/ports';
import { clusterPortList } from '../../scripts/temporal/cluster-config';
import {
  ClusterStartError,
  freeClusterPorts,
  startCluster,
  type ClusterOptions,
} from '../../scripts/temporal/cluster';
import { requireEnv, TEST_ENV } from '../support/env';

/**
 * What `TEMPORAL_MODE=cluster` refuses, on the real server binaries and PostgreSQL: one line naming the
 * cause, and nothing left running (every port of the cluster free again).
 */
describe('cluster mode refuses bad input with one line and leaves nothing running', () => {
  const prefix = `${process.env.TEST_DATABASE_PREFIX ?? 'saga_test_'}badinput_`;
  const postgresUrl = Object.assign(new URL(requireEnv(TEST_ENV.ordersDb)), {
    pathname: '/postgres',
  }).toString();
  const databaseUrl = (suffix: string) =>
    Object.assign(new URL(postgresUrl), { pathname: `/${prefix}${suffix}` }).toString();
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'saga-cluster-bad-'));
  });
  afterAll(async () => {
    for (const suffix of ['temporal', 'temporal_visibility']) await dropDatabaseIfExists(databaseUrl(suffix));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The refusal, and the cluster's ports still in use after it. */
  async function refusal(
    options: Partial<ClusterOptions>,
  ): Promise<{ error: ClusterStartError; busy: number[] }> {
    const ports = options.ports ?? (await freeClusterPorts({ history: 1, matching: 1 }));
    const error = await startCluster({
      ports,
      postgresUrl,
      databasePrefix: prefix,
      dataDir: path.join(dir, 'data'),
      ...options,
    }).then(
      (cluster) => cluster.stop().then(() => undefined),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClusterStartError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    const busy: number[] = [];
    for (const [port] of clusterPortList(ports)) if (await portInUse(port, '127.0.0.1')) busy.push(port);
    return { error: error as ClusterStartError, busy };
  }

  test('an unreachable PostgreSQL', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const { error, busy } = await refusal({
      postgresUrl: `postgresql://postgres@127.0.0.1:${closed}/postgres`,
    });
    expect(error.message).toMatch(new RegExp(`cannot use PostgreSQL at 127.0.0.1:${closed} .*ECONNREFUSED`));
    expect(busy).toEqual([]);
  });

  test('a port in use names the port and its variable', async () => {
    const ports = await freeClusterPorts({ history: 1, matching: 1 });
    const taken = net.createServer().listen(ports.frontend.grpc, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    try {
      const { error, busy } = await refusal({ ports, portVariables: { frontend: 'TEMPORAL_ADDRESS' } });
      expect(error.message).toBe(
        `port ${ports.frontend.grpc} is in use (temporal-frontend grpc port, TEMPORAL_ADDRESS): stop what uses it or choose another`,
      );
      expect(busy).toEqual([ports.frontend.grpc]); // only the port the test holds
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  test('a schema newer than the server binary is refused before any process starts', async () => {
    // A real schema first (the cluster starts and stops), then the version a newer server would leave.
    const first = await startCluster({
      ports: await freeClusterPorts({ history: 1, matching: 1 }),
      postgresUrl,
      databasePrefix: prefix,
      dataDir: path.join(dir, 'first'),
      fresh: true,
    });
    await first.stop();
    const db = new PgClient({ connectionString: databaseUrl('temporal') });
    await db.connect();
    await db.query(`UPDATE schema_version SET curr_version = '1.99'`);
    await db.end();
    const { error, busy } = await refusal({});
    expect(error.message).toMatch(
      new RegExp(
        `^${prefix}temporal has schema version 1\\.99, newer than the 1\\.18 of Temporal server v1\\.29\\.1`,
      ),
    );
    expect(busy).toEqual([]);
  }, 300_000);
});
