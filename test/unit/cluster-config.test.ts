import { parse } from 'yaml';
import {
  MAX_CONNECTIONS,
  MAX_MEMBERSHIP_PORT,
  clusterNodes,
  clusterPortList,
  clusterPortProblems,
  clusterPortsFrom,
  dynamicConfig,
  readTemplate,
  serverConfig,
  toYaml,
  uiServerConfig,
  type ClusterLayout,
  type ClusterNode,
} from '../../scripts/temporal/cluster-config';
import { DISPATCH_DYNAMIC_CONFIG } from '../../scripts/temporal/dispatch-config';
import { goModRequires } from '../../scripts/temporal/server-build';

/**
 * The cluster mode's generated configuration (scripts/temporal/cluster-config.ts), from the committed copy
 * of the server module's development-postgres12.yaml. test:cluster runs the real server on it; this checks
 * the layout rules that a working start does not show: no port shared, every process in one membership
 * with its own ports, the connection budget on the shared PostgreSQL, the template left as it is.
 */

const FRONTEND = 17233;
const UI = 18233;
const BASE = 17300;

function layout(overrides: Partial<ClusterLayout> = {}): ClusterLayout {
  return {
    ip: '127.0.0.1',
    postgres: { host: 'db.internal', port: 6543, user: 'temporal_user', password: 's3cret' },
    databases: { main: 'x_temporal', visibility: 'x_temporal_visibility' },
    ports: clusterPortsFrom(FRONTEND, UI, BASE),
    dynamicConfigFile: '/data/cluster/dynamicconfig.yaml',
    logLevel: 'warn',
    codecEndpoint: 'http://127.0.0.1:8888',
    ...overrides,
  };
}

type Tree = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('cluster ports', () => {
  test('two history and two matching nodes, a frontend and a worker service, each with its own ports', () => {
    const nodes = clusterNodes(layout().ports);
    expect(nodes.map((n) => n.service).sort()).toEqual(
      ['frontend', 'history', 'history', 'matching', 'matching', 'worker'].sort(),
    );
    expect(new Set(nodes.map((n) => n.name)).size).toBe(nodes.length);
  });

  test('no port is used twice; the frontend and UI keep their ports, the rest is consecutive from the base', () => {
    const { ports } = layout();
    const list = clusterPortList(ports);
    const numbers = list.map(([port]) => port);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(ports.frontend.grpc).toBe(FRONTEND);
    expect(ports.ui).toBe(UI);
    const internal = numbers.filter((port) => port !== FRONTEND && port !== UI).sort((a, b) => a - b);
    expect(internal).toEqual(internal.map((_, i) => BASE + i));
  });

  test('ports that cannot run are named: a shared port, a membership port above the smallint column', () => {
    expect(clusterPortProblems(layout().ports)).toEqual([]);
    const ports = clusterPortsFrom(FRONTEND, UI, BASE);
    ports.matching[1]!.grpc = ports.history[0]!.grpc;
    ports.worker.membership = MAX_MEMBERSHIP_PORT + 1;
    const problems = clusterPortProblems(ports);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain(`port ${ports.history[0]!.grpc} is both the temporal-history-1 grpc port`);
    expect(problems[1]).toContain(`temporal-worker membership port ${MAX_MEMBERSHIP_PORT + 1}`);
  });

  test('node counts follow the arguments', () => {
    const ports = clusterPortsFrom(FRONTEND, UI, BASE, { history: 3, matching: 1 });
    const services = clusterNodes(ports).map((n) => n.service);
    expect(services.filter((s) => s === 'history')).toHaveLength(3);
    expect(services.filter((s) => s === 'matching')).toHaveLength(1);
  });
});

describe('server config of each node', () => {
  const template = readTemplate();
  const pristine = structuredClone(template);
  const l = layout();
  const nodes = clusterNodes(l.ports);
  const configs = new Map<ClusterNode, Tree>(nodes.map((node) => [node, serverConfig(template, l, node)]));

  test('leaves the template as it is', () => {
    expect(template).toEqual(pristine);
  });

  test.each(nodes.map((node) => [node.name, node] as const))(
    '%s: its own service on its own ports, bound and advertised on the layout ip',
    (_name, node) => {
      const config = configs.get(node)!;
      // Every service is listed (the membership tracks only those), this node's with its own ports.
      expect(Object.keys(config.services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
      const rpc = config.services[node.service].rpc;
      expect(rpc).toMatchObject({
        grpcPort: node.ports.grpc,
        membershipPort: node.ports.membership,
        bindOnIP: l.ip,
      });
      expect(rpc.bindOnLocalHost).toBeUndefined();
      expect(config.global.membership.broadcastAddress).toBe(l.ip);
      expect(config.global.metrics.prometheus.listenAddress).toBe(`${l.ip}:${node.ports.metrics}`);
      expect(config.global.pprof).toBeUndefined();
    },
  );

  test('the frontend serves its HTTP API; the cluster metadata points at the frontend', () => {
    for (const [node, config] of configs) {
      expect(config.services.frontend.rpc.httpPort).toBe(l.ports.frontend.http);
      expect(config.services.frontend.rpc.grpcPort).toBe(l.ports.frontend.grpc);
      const current = config.clusterMetadata.currentClusterName as string;
      expect([node.name, config.clusterMetadata.clusterInformation[current].rpcAddress]).toEqual([
        node.name,
        `${l.ip}:${l.ports.frontend.grpc}`,
      ]);
    }
  });

  test('persistence and visibility on the given PostgreSQL and databases; shards as in the template', () => {
    for (const [node, config] of configs) {
      const { datastores, defaultStore, visibilityStore } = config.persistence;
      const [mainConns, visibilityConns] = MAX_CONNECTIONS[node.service];
      for (const [store, database, conns] of [
        [defaultStore, l.databases.main, mainConns],
        [visibilityStore, l.databases.visibility, visibilityConns],
      ]) {
        expect(datastores[store].sql).toMatchObject({
          pluginName: (pristine.persistence as Tree).datastores[store].sql.pluginName,
          databaseName: database,
          connectAddr: `${l.postgres.host}:${l.postgres.port}`,
          user: l.postgres.user,
          password: l.postgres.password,
          maxConns: conns,
          maxIdleConns: conns,
        });
      }
      expect(config.persistence.numHistoryShards).toBe((pristine.persistence as Tree).numHistoryShards);
      expect(config.dynamicConfigClient.filepath).toBe(l.dynamicConfigFile);
      expect(config.log.level).toBe(l.logLevel);
    }
  });

  test('all processes together stay within 30 connections of the shared PostgreSQL', () => {
    const total = [...configs.values()]
      .flatMap((config) => Object.values(config.persistence.datastores as Tree))
      .reduce((sum, store) => sum + (store as Tree).sql.maxConns, 0);
    expect(total).toBeLessThanOrEqual(30);
  });

  test('survives YAML: what the server reads is what was generated', () => {
    for (const config of configs.values()) expect(parse(toYaml(config))).toEqual(config);
  });

  test('a template without a section the layout needs is refused with its name', () => {
    const broken = structuredClone(template);
    delete broken.clusterMetadata;
    expect(() => serverConfig(broken, l, nodes[0]!)).toThrow(/clusterMetadata/);
  });
});

describe('dynamic config and Web UI', () => {
  test("dynamic config: the dev server's visibility rate and history cache, callbacks to the frontend", () => {
    const l = layout();
    const config = dynamicConfig(l);
    for (const values of Object.values(config)) {
      expect(values).toEqual([{ value: expect.anything(), constraints: {} }]);
    }
    const http = `${l.ip}:${l.ports.frontend.http}`;
    expect(JSON.stringify(config['component.nexusoperations.callback.endpoint.template'])).toContain(http);
    expect(config['component.callbacks.allowedAddresses']).toEqual([
      { value: [{ Pattern: http, AllowInsecure: true }], constraints: {} },
    ]);
  });

  test('dynamic config: the dispatch settings, which a tuning may change or remove', () => {
    const keys = Object.keys(DISPATCH_DYNAMIC_CONFIG);
    expect(keys.length).toBeGreaterThan(0);
    const config = dynamicConfig(layout());
    for (const key of keys)
      expect(config[key]).toEqual([{ value: DISPATCH_DYNAMIC_CONFIG[key], constraints: {} }]);
    const [removed, changed] = keys as [string, string];
    const tuned = dynamicConfig(
      layout({
        tuning: { dynamicConfig: { [removed]: null, [changed]: 5, 'matching.useNewMatcher': true } },
      }),
    );
    expect(tuned[removed]).toBeUndefined();
    expect(tuned[changed]).toEqual([{ value: 5, constraints: {} }]);
    expect(tuned['matching.useNewMatcher']).toEqual([{ value: true, constraints: {} }]);
  });

  test('a tuning sets the history shards and the connections of the processes it names', () => {
    const l = layout({ tuning: { numHistoryShards: 1, maxConnections: { history: [8, 2] } } });
    const nodes = clusterNodes(l.ports);
    const history = serverConfig(
      readTemplate(),
      l,
      nodes.find((n) => n.service === 'history')!,
    );
    const matching = serverConfig(
      readTemplate(),
      l,
      nodes.find((n) => n.service === 'matching')!,
    );
    const sql = (config: Tree, store: 'defaultStore' | 'visibilityStore') => {
      const persistence = config.persistence as Tree;
      return ((persistence.datastores as Tree)[persistence[store] as string] as Tree).sql as Tree;
    };
    expect((history.persistence as Tree).numHistoryShards).toBe(1);
    expect([sql(history, 'defaultStore').maxConns, sql(history, 'visibilityStore').maxConns]).toEqual([8, 2]);
    expect([sql(matching, 'defaultStore').maxConns, sql(matching, 'visibilityStore').maxConns]).toEqual(
      MAX_CONNECTIONS.matching,
    );
    const untuned = serverConfig(readTemplate(), layout(), nodes[0]!);
    expect((untuned.persistence as Tree).numHistoryShards).toBe(
      (readTemplate().persistence as Tree).numHistoryShards,
    );
  });

  test('the UI server talks to the frontend, listens on the UI port and decodes through the codec server', () => {
    const l = layout();
    expect(uiServerConfig(l)).toMatchObject({
      host: l.ip,
      port: l.ports.ui,
      temporalGrpcAddress: `${l.ip}:${l.ports.frontend.grpc}`,
      codec: { endpoint: l.codecEndpoint },
      enableUi: true,
    });
    expect(uiServerConfig(layout({ codecEndpoint: undefined })).codec).toEqual({ endpoint: '' });
  });

  test('no TLS unless configured; with it, mTLS on the frontend and a client certificate for its clients', () => {
    const node = clusterNodes(layout().ports)[0]!;
    const plain = serverConfig(readTemplate(), layout(), node).global as Tree;
    expect(plain.tls).toBeUndefined();
    expect(uiServerConfig(layout()).tls).toBeUndefined();
    const tls = {
      certFile: '/pki/server.pem',
      keyFile: '/pki/server.key',
      clientCaFiles: ['/pki/ca.pem'],
      serverCaFile: '/pki/ca.pem',
      serverName: 'localhost',
      clientCertFile: '/pki/client.pem',
      clientKeyFile: '/pki/client.key',
    };
    const secured = parse(toYaml(serverConfig(readTemplate(), layout({ tls }), node))) as Tree;
    expect((secured.global as Tree).tls).toEqual({
      frontend: {
        server: {
          certFile: '/pki/server.pem',
          keyFile: '/pki/server.key',
          clientCaFiles: ['/pki/ca.pem'],
          requireClientAuth: true,
        },
        client: { serverName: 'localhost', rootCaFiles: ['/pki/ca.pem'] },
      },
      systemWorker: {
        certFile: '/pki/client.pem',
        keyFile: '/pki/client.key',
        client: { serverName: 'localhost', rootCaFiles: ['/pki/ca.pem'] },
      },
    });
    expect(uiServerConfig(layout({ tls })).tls).toEqual({
      caFile: '/pki/ca.pem',
      certFile: '/pki/client.pem',
      keyFile: '/pki/client.key',
      serverName: 'localhost',
      enableHostVerification: true,
    });
  });
});

describe('goModRequires', () => {
  test('reads single-line and block requires, with or without comments', () => {
    const goMod = [
      'module example.com/x',
      '',
      'require go.temporal.io/server v1.29.1',
      'require (',
      '\tgithub.com/temporalio/ui-server/v2 v2.42.1',
      '\tgolang.org/x/sys v0.30.0 // indirect',
      ')',
    ].join('\n');
    expect(goModRequires(goMod)).toEqual({
      'go.temporal.io/server': 'v1.29.1',
      'github.com/temporalio/ui-server/v2': 'v2.42.1',
      'golang.org/x/sys': 'v0.30.0',
    });
  });
});
