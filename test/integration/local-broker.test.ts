import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { buildNatsServer, NATS_SERVER_VERSION, startLocalBroker } from '../../scripts/nats/local-broker';
import { startNatsServer } from '../../scripts/nats/nats-server';
import { freePort, portInUse } from '../../scripts/lib/ports';
import { ensureStream, eventBusConfigSchema } from '../../shared/event-bus';
import { requireEnv, TEST_ENV } from '../support/env';

/**
 * How `npm start` finds its broker (scripts/nats/local-broker.ts), on spare ports: the machine's NATS on
 * 4222 is never used or touched here.
 */
describe("npm start's broker", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'saga-local-broker-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const log = () => undefined;

  test('NATS_URL when set: nothing is started', async () => {
    const port = await freePort();
    const broker = await startLocalBroker({ natsUrl: 'nats://broker.example:4222', dataDir, port, log });
    expect(broker.url).toBe('nats://broker.example:4222');
    expect(await portInUse(port)).toBe(false);
    await broker.stop();
  });

  test('a NATS server that answers on the local port is used as it is', async () => {
    const runs = new URL(requireEnv(TEST_ENV.natsUrl));
    const broker = await startLocalBroker({ natsUrl: undefined, dataDir, port: Number(runs.port), log });
    expect(broker).toMatchObject({ url: `nats://127.0.0.1:${runs.port}`, where: 'already running' });
    await broker.stop();
    // Not ours to stop: it still answers.
    const nc = await connect({ servers: runs.toString() });
    await nc.close();
  });

  test('none answers: a nats-server with JetStream of its own, its store in the data directory', async () => {
    const port = await freePort();
    const store = path.join(dataDir, 'nats');
    const broker = await startLocalBroker({ natsUrl: undefined, dataDir: store, port, log });
    try {
      expect(broker.url).toBe(`nats://127.0.0.1:${port}`);
      const nc = await connect({ servers: broker.url });
      const bus = eventBusConfigSchema.parse({ NATS_URL: broker.url, EVENTS_STREAM: 'LOCAL_BROKER' });
      await ensureStream(nc, bus);
      const info = await (await jetstreamManager(nc)).streams.info('LOCAL_BROKER');
      expect(info.config.subjects).toEqual(['saga.events.>']);
      await nc.close();
      expect(existsSync(path.join(store, 'jetstream'))).toBe(true);
      expect(readdirSync(path.join(store, 'jetstream')).length).toBeGreaterThan(0);
    } finally {
      await broker.stop();
    }
    expect(await portInUse(port)).toBe(false);
  });

  // Where no nats-server is installed, `npm start` runs this build of the pinned module (built here once
  // per machine when missing: minutes the first time).
  test(
    'the cached build of the Go module is the pinned version and runs JetStream',
    async () => {
      const binary = await buildNatsServer(log);
      expect(binary).toContain(`nats-server-${NATS_SERVER_VERSION.slice(1)}`);
      const server = await startNatsServer({
        port: await freePort(),
        storeDir: path.join(dataDir, 'built'),
        binary,
      });
      try {
        const nc = await connect({ servers: server.url });
        expect(nc.info?.version).toBe(NATS_SERVER_VERSION.slice(1));
        expect(nc.info?.jetstream).toBe(true);
        await nc.close();
      } finally {
        await server.stop();
      }
    },
    20 * 60_000,
  );
});
