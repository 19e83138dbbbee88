/**
 * Configuration of the production-shaped Temporal cluster (`TEMPORAL_MODE=cluster`): one YAML file per
 * server process, derived from the server module's own `development-postgres12.yaml` (a copy is in
 * ./config), plus the dynamic config and the Web UI server's config. Pure functions: no file, port or
 * process is touched here (scripts/temporal/cluster.ts does that), so the layout is unit-tested.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { DISPATCH_DYNAMIC_CONFIG } from './dispatch-config';

export const TEMPLATE_FILE = path.join(__dirname, 'config', 'development-postgres12.yaml');

/** The server's services; each runs in its own process (`temporal-server start --service <name>`). */
export type ClusterService = 'frontend' | 'history' | 'matching' | 'worker';

/**
 * Membership ports are stored in cluster_membership.rpc_port, a smallint in the server's PostgreSQL
 * schema: a node on a higher port cannot even register (the server exits "out of range for type smallint").
 */
export const MAX_MEMBERSHIP_PORT = 32767;

export interface NodePorts {
  grpc: number;
  /** Ringpop gossip; every node joins the one membership through the cluster_membership table. */
  membership: number;
  /** Prometheus /metrics of this process. */
  metrics: number;
}

export interface ClusterPorts {
  /** The frontend's HTTP API (the dev server has it too). */
  frontend: NodePorts & { http: number };
  history: NodePorts[];
  matching: NodePorts[];
  worker: NodePorts;
  ui: number;
}

export interface ClusterLayout {
  /** Every process binds it and advertises it to the others (global.membership.broadcastAddress). */
  ip: string;
  postgres: { host: string; port: number; user: string; password: string };
  /** Temporal's two databases: persistence and (advanced, SQL) visibility. */
  databases: { main: string; visibility: string };
  ports: ClusterPorts;
  /** Absolute path of the dynamic config file (dynamicConfig()). */
  dynamicConfigFile: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** The codec server the Web UI decodes payloads through, as in dev mode (--ui-codec-endpoint). */
  codecEndpoint?: string;
  /** TLS on the frontend (clients must present a certificate); unset, the cluster is plaintext. */
  tls?: ClusterTls;
  /** Changes from the defaults below, for experiments (bench/dispatch.ts); unset, the defaults. */
  tuning?: ClusterTuning;
}

export interface ClusterTuning {
  /** Dynamic config values set over (or, with `null`, removed from) dynamicConfig()'s defaults. */
  dynamicConfig?: Record<string, unknown>;
  /** History shards; fixed when the database is created (the template's default is 4). */
  numHistoryShards?: number;
  /** PostgreSQL connections per process, [persistence, visibility], over MAX_CONNECTIONS. */
  maxConnections?: Partial<Record<ClusterService, [main: number, visibility: number]>>;
}

/**
 * mTLS on the frontend's gRPC port (global.tls.frontend, requireClientAuth): every client presents a
 * certificate from one of clientCaFiles. Internode traffic (history, matching) stays plaintext on the
 * loopback. The server's own calls to the frontend (the worker service; the frontend's operator handlers
 * calling itself) are clients too: they present the client certificate (global.tls.systemWorker, the one
 * the server uses for every frontend client once set).
 */
export interface ClusterTls {
  certFile: string;
  keyFile: string;
  clientCaFiles: string[];
  /** What the frontend's certificate is checked against by the worker service, the Web UI and the CLI. */
  serverCaFile: string;
  /** The name in the frontend's certificate. */
  serverName: string;
  /** What the server's own frontend clients, the Web UI server, the CLI and readiness checks present. */
  clientCertFile: string;
  clientKeyFile: string;
}

export interface ClusterNode {
  /** Process name under the supervisor, and the config file's name (`--env <name>`). */
  name: string;
  service: ClusterService;
  ports: NodePorts & { http?: number };
}

/**
 * PostgreSQL connections each process may hold, [persistence, visibility]. The machine's PostgreSQL is
 * shared (max_connections 100) with the service databases, the tests and other checkouts, so the six
 * processes stay within 27 together instead of the template's 22 per process.
 */
export const MAX_CONNECTIONS: Record<ClusterService, [main: number, visibility: number]> = {
  frontend: [4, 2],
  history: [4, 1],
  matching: [3, 1],
  worker: [2, 1],
};

/**
 * Ports of a cluster from a base, for `npm start`: the frontend keeps the port clients use (7233, as in
 * dev mode) and the UI its port (8233); everything internal takes consecutive ports from `base`.
 */
export function clusterPortsFrom(
  frontendPort: number,
  uiPort: number,
  base: number,
  nodes = { history: 2, matching: 2 },
): ClusterPorts {
  let next = base;
  const take = (): NodePorts => ({ grpc: next++, membership: next++, metrics: next++ });
  const frontendInternal = { membership: next++, metrics: next++, http: next++ };
  return {
    frontend: { grpc: frontendPort, ...frontendInternal },
    history: Array.from({ length: nodes.history }, take),
    matching: Array.from({ length: nodes.matching }, take),
    worker: take(),
    ui: uiPort,
  };
}

/** The namespace the cluster mode serves and its retention, as docker-compose.temporal.yml's temporal-setup. */
export const CLUSTER_NAMESPACE = 'default';
export const NAMESPACE_RETENTION = '168h';

/** Temporal's two databases of the cluster mode (compose's are `temporal` and `temporal_visibility`). */
export function temporalDatabases(prefix: string): { main: string; visibility: string } {
  return { main: `${prefix}temporal`, visibility: `${prefix}temporal_visibility` };
}

/**
 * temporal-sql-tool's steps for one of Temporal's databases, after the connection flags: create it if
 * missing, the base schema, then every versioned update it lacks (as compose's temporal-schema runs them).
 */
export function schemaSteps(schema: 'temporal' | 'visibility'): string[][] {
  return [
    ['create-database'],
    ['setup-schema', '-v', '0.0'],
    ['update-schema', '--schema-name', `postgresql/v12/${schema}`],
  ];
}

/** The server processes, in start order: history owns the shards the others wait for. */
export function clusterNodes(ports: ClusterPorts): ClusterNode[] {
  const numbered = (service: 'history' | 'matching', list: NodePorts[]) =>
    list.map((p, i): ClusterNode => ({ name: `temporal-${service}-${i + 1}`, service, ports: p }));
  return [
    ...numbered('history', ports.history),
    ...numbered('matching', ports.matching),
    { name: 'temporal-frontend', service: 'frontend', ports: ports.frontend },
    { name: 'temporal-worker', service: 'worker', ports: ports.worker },
  ];
}

/** Every port the cluster listens on, with what it is for (to check them free, and name the culprit). */
export function clusterPortList(ports: ClusterPorts): [port: number, what: string][] {
  const list: [number, string][] = [];
  for (const node of clusterNodes(ports)) {
    for (const [kind, port] of Object.entries(node.ports)) list.push([port, `${node.name} ${kind} port`]);
  }
  list.push([ports.ui, 'Temporal Web UI port']);
  return list;
}

/** What is wrong with a set of ports (empty when it can run): shared ports, membership ports too high. */
export function clusterPortProblems(ports: ClusterPorts): string[] {
  const problems: string[] = [];
  const seen = new Map<number, string>();
  for (const [port, what] of clusterPortList(ports)) {
    const other = seen.get(port);
    if (other) problems.push(`port ${port} is both the ${other} and the ${what}`);
    seen.set(port, what);
  }
  for (const node of clusterNodes(ports)) {
    if (node.ports.membership > MAX_MEMBERSHIP_PORT) {
      problems.push(
        `${node.name} membership port ${node.ports.membership} is above ${MAX_MEMBERSHIP_PORT} ` +
          '(the server stores it as a PostgreSQL smallint)',
      );
    }
  }
  return problems;
}

export function readTemplate(file = TEMPLATE_FILE): Record<string, unknown> {
  return parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

type Tree = Record<string, unknown>;

function at(tree: Tree, ...keys: string[]): Tree {
  let node: unknown = tree;
  for (const key of keys) {
    node = (node as Tree | undefined)?.[key];
    if (typeof node !== 'object' || node === null)
      throw new Error(`the server config template has no ${keys.join('.')} section`);
  }
  return node as Tree;
}

/** The configuration of one server process, from the template (not modified). */
export function serverConfig(template: Tree, layout: ClusterLayout, node: ClusterNode): Tree {
  const config = structuredClone(template);
  const { ip, postgres, databases } = layout;
  config.log = { stdout: true, level: layout.logLevel };

  const persistence = at(config, 'persistence');
  const [mainStore, visibilityStore] = [persistence.defaultStore, persistence.visibilityStore] as string[];
  const [mainConns, visibilityConns] =
    layout.tuning?.maxConnections?.[node.service] ?? MAX_CONNECTIONS[node.service];
  if (layout.tuning?.numHistoryShards !== undefined)
    persistence.numHistoryShards = layout.tuning.numHistoryShards;
  for (const [store, databaseName, maxConns] of [
    [mainStore, databases.main, mainConns],
    [visibilityStore, databases.visibility, visibilityConns],
  ] as const) {
    const sql = at(persistence, 'datastores', String(store), 'sql');
    Object.assign(sql, {
      databaseName,
      connectAddr: `${postgres.host}:${postgres.port}`,
      user: postgres.user,
      password: postgres.password,
      maxConns,
      maxIdleConns: maxConns,
    });
  }

  const global = at(config, 'global');
  global.membership = { ...at(global, 'membership'), broadcastAddress: ip };
  // The template's pprof port is one fixed port, which six processes cannot share; it is a debugging aid.
  delete global.pprof;
  at(global, 'metrics', 'prometheus').listenAddress = `${ip}:${node.ports.metrics}`;

  // Every service must be listed: the membership tracks only the services named here. Its own service
  // gets this process's ports (the ones it binds and advertises in the membership, where the others find
  // it); the others' entries are only a fallback, as each node advertises its own gRPC port.
  const rpcOf = (ports: ClusterNode['ports']): Tree => ({
    grpcPort: ports.grpc,
    membershipPort: ports.membership,
    bindOnIP: ip,
    ...(ports.http !== undefined ? { httpPort: ports.http } : {}),
  });
  const { ports } = layout;
  const first: Record<ClusterService, ClusterNode['ports']> = {
    frontend: ports.frontend,
    history: ports.history[0]!,
    matching: ports.matching[0]!,
    worker: ports.worker,
  };
  config.services = Object.fromEntries(
    (Object.keys(first) as ClusterService[]).map((service) => [
      service,
      { rpc: rpcOf(service === node.service ? node.ports : first[service]) },
    ]),
  );

  const cluster = at(config, 'clusterMetadata');
  const current = String(cluster.currentClusterName);
  at(cluster, 'clusterInformation', current).rpcAddress = `${ip}:${layout.ports.frontend.grpc}`;

  if (layout.tls) {
    global.tls = {
      frontend: {
        server: {
          certFile: layout.tls.certFile,
          keyFile: layout.tls.keyFile,
          clientCaFiles: layout.tls.clientCaFiles,
          requireClientAuth: true,
        },
        client: { serverName: layout.tls.serverName, rootCaFiles: [layout.tls.serverCaFile] },
      },
      systemWorker: {
        certFile: layout.tls.clientCertFile,
        keyFile: layout.tls.clientKeyFile,
        client: { serverName: layout.tls.serverName, rootCaFiles: [layout.tls.serverCaFile] },
      },
    };
  }

  config.dynamicConfigClient = { filepath: layout.dynamicConfigFile, pollInterval: '10s' };
  return config;
}

/**
 * Dynamic config: the values the dev server sets for itself (temporalcli/devserver/server.go), so both
 * modes behave alike under the same tests, and the dispatch settings every mode shares.
 */
export function dynamicConfig(layout: ClusterLayout): Tree {
  const frontendHttp = `${layout.ip}:${layout.ports.frontend.http}`;
  const value = (v: unknown) => [{ value: v, constraints: {} }];
  const config: Tree = {
    ...Object.fromEntries(Object.entries(DISPATCH_DYNAMIC_CONFIG).map(([key, v]) => [key, value(v)])),
    // The default (10 per second per frontend) throttles the API's and the tests' visibility polling.
    'frontend.namespaceRPS.visibility': value(100),
    // Mutable state cache per history host: the default of 128,000 entries is sized for large hosts.
    'history.hostLevelCacheMaxSize': value(8096),
    'component.nexusoperations.callback.endpoint.template': value(
      `http://${frontendHttp}/namespaces/{{.NamespaceName}}/nexus/callback`,
    ),
    'component.callbacks.allowedAddresses': value([{ Pattern: frontendHttp, AllowInsecure: true }]),
  };
  for (const [key, v] of Object.entries(layout.tuning?.dynamicConfig ?? {})) {
    if (v === null) delete config[key];
    else config[key] = value(v);
  }
  return config;
}

/** The Web UI server's config, as the dev server builds it for its embedded UI. */
export function uiServerConfig(layout: ClusterLayout): Tree {
  return {
    host: layout.ip,
    port: layout.ports.ui,
    temporalGrpcAddress: `${layout.ip}:${layout.ports.frontend.grpc}`,
    enableUi: true,
    defaultNamespace: 'default',
    codec: { endpoint: layout.codecEndpoint ?? '' },
    // Plain HTTP on the loopback, as in dev mode: a Secure cookie would never be sent back.
    cors: { cookieInsecure: true },
    ...(layout.tls
      ? {
          tls: {
            caFile: layout.tls.serverCaFile,
            certFile: layout.tls.clientCertFile,
            keyFile: layout.tls.clientKeyFile,
            serverName: layout.tls.serverName,
            enableHostVerification: true,
          },
        }
      : {}),
    hideLogs: true,
  };
}

export function toYaml(tree: Tree): string {
  return stringify(tree, { lineWidth: 0 });
}
