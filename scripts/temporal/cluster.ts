/**
 * `TEMPORAL_MODE=cluster`: the production-shaped Temporal stack on this machine, without Docker. The real
 * server (built by server-build.ts) on PostgreSQL, its services as separate processes (two history and two
 * matching nodes, one frontend, the internal worker service) in one membership, and the Web UI server, all
 * under the project's supervisor. Returns what startDevServer returns, so callers treat both modes alike.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { Connection, type TLSConfig } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../shared/search-attributes';
import { dropDatabaseIfExists, maskUrl } from '../db/ensure-database';
import { freePort, portInUse } from '../lib/ports';
import { waitForHttp } from '../lib/processes';
import { Supervisor, type ProcessSpec, type RestartPolicy } from '../lib/supervisor';
import {
  CLUSTER_NAMESPACE,
  MAX_MEMBERSHIP_PORT,
  NAMESPACE_RETENTION,
  clusterNodes,
  clusterPortList,
  clusterPortProblems,
  dynamicConfig,
  readTemplate,
  schemaSteps,
  serverConfig,
  temporalDatabases,
  toYaml,
  uiServerConfig,
  type ClusterLayout,
  type ClusterTls,
  type ClusterTuning,
  type ClusterPorts,
  type NodePorts,
} from './cluster-config';
import { missingSearchAttributes } from './dev-server';
import { resolveTemporalCli } from './provision';
import { resolveClusterBinaries, TEMPORAL_SCHEMA_VERSIONS, TEMPORAL_SERVER_VERSION } from './server-build';

export interface ClusterOptions {
  ports: ClusterPorts;
  /** PostgreSQL server for Temporal's own two databases (its path is ignored). */
  postgresUrl: string;
  /** Names them `<prefix>temporal` and `<prefix>temporal_visibility`, so tests and runs can have their own. */
  databasePrefix: string;
  /** Generated configs and the processes' logs go to `<dataDir>/cluster/`. */
  dataDir: string;
  ip?: string;
  namespace?: string;
  uiCodecEndpoint?: string;
  /** mTLS on the frontend (see ClusterTls); unset, plaintext. */
  tls?: ClusterTls;
  /** Drops Temporal's databases first (a test run starts from nothing). */
  fresh?: boolean;
  /** Says which variable moves a port, in the error about a port in use. */
  portVariables?: { frontend?: string; ui?: string; internal?: string };
  /** Changes from the cluster's default configuration, for experiments (bench/dispatch.ts). */
  tuning?: ClusterTuning;
  /** How the server processes are restarted (the chaos run kills them: it never gives up). */
  restartPolicy?: Partial<RestartPolicy>;
  log?: (line: string) => void;
}

export interface TemporalCluster {
  address: string;
  uiUrl: string;
  /** The server and UI processes; resolves (never rejects) if one of them crash-loops. */
  failed: Promise<Error>;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

export class ClusterStartError extends Error {
  override name = 'ClusterStartError';
}

const START_TIMEOUT_MS = 120_000;

export async function startCluster(options: ClusterOptions): Promise<TemporalCluster> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? CLUSTER_NAMESPACE;
  const log = options.log ?? (() => undefined);
  const { ports } = options;

  // Everything that can be refused is checked before anything starts, so a refusal leaves nothing behind.
  const problems = clusterPortProblems(ports);
  if (problems.length > 0)
    throw new ClusterStartError(`cannot run the Temporal cluster: ${problems.join('; ')}`);
  for (const [port, what] of clusterPortList(ports)) {
    if (await portInUse(port, ip)) {
      const variable =
        port === ports.frontend.grpc
          ? options.portVariables?.frontend
          : port === ports.ui
            ? options.portVariables?.ui
            : options.portVariables?.internal;
      throw new ClusterStartError(
        `port ${port} is in use (${what}${variable ? `, ${variable}` : ''}): stop what uses it or choose another`,
      );
    }
  }
  const postgres = postgresTarget(options.postgresUrl);
  const databases = temporalDatabases(options.databasePrefix);
  for (const name of Object.values(databases)) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
      throw new ClusterStartError(`Temporal database name ${name} is not a plain lower-case identifier`);
  }
  const binaries = await resolveClusterBinaries({ log });
  const cli = await resolveTemporalCli({ log });
  await checkPostgres(options.postgresUrl);

  const clusterDir = path.resolve(options.dataDir, 'cluster');
  const logDir = path.join(clusterDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  if (options.fresh) {
    for (const name of Object.values(databases))
      await dropDatabaseIfExists(withDatabase(options.postgresUrl, name));
  }
  for (const [database, schema] of [
    [databases.main, 'temporal'],
    [databases.visibility, 'visibility'],
  ] as const) {
    await setupSchema(binaries.sqlTool, postgres, database, schema, path.join(logDir, 'schema.log'));
    // The tool leaves a newer schema as it is and the server accepts it: refuse it here, before starting.
    const found = await schemaVersion(withDatabase(options.postgresUrl, database));
    if (compareVersions(found, TEMPORAL_SCHEMA_VERSIONS[schema]) > 0)
      throw new ClusterStartError(
        `${database} has schema version ${found}, newer than the ${TEMPORAL_SCHEMA_VERSIONS[schema]} of ` +
          `Temporal server ${TEMPORAL_SERVER_VERSION}: a newer server set it up; use that server or another ` +
          `TEMPORAL_DATABASE_PREFIX`,
      );
  }
  log(`Temporal databases ${databases.main}, ${databases.visibility} on ${maskUrl(options.postgresUrl)}`);

  const layout: ClusterLayout = {
    ip,
    postgres,
    databases,
    ports,
    dynamicConfigFile: path.join(clusterDir, 'dynamicconfig.yaml'),
    logLevel: 'warn',
    codecEndpoint: options.uiCodecEndpoint,
    tls: options.tls,
    tuning: options.tuning,
  };
  const nodes = clusterNodes(ports);
  const template = readTemplate();
  // The files hold the database password: readable by us only.
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: 0o600 });
  };
  for (const node of nodes)
    write(path.join(clusterDir, 'config', `${node.name}.yaml`), toYaml(serverConfig(template, layout, node)));
  write(layout.dynamicConfigFile, toYaml(dynamicConfig(layout)));
  write(path.join(clusterDir, 'ui-config', 'saga.yaml'), toYaml(uiServerConfig(layout)));

  const specs: ProcessSpec[] = [
    ...nodes.map((node): ProcessSpec => ({
      name: node.name,
      command: binaries.server,
      args: ['--root', clusterDir, '--config', 'config', '--env', node.name, '--allow-no-auth'].concat([
        'start',
        '--service',
        node.service,
      ]),
      env: process.env,
      cwd: clusterDir,
      detached: true,
    })),
    {
      name: 'temporal-ui',
      command: binaries.uiServer,
      args: ['--root', clusterDir, '--config', 'ui-config', '--env', 'saga', 'start'],
      env: process.env,
      cwd: clusterDir,
      detached: true,
    },
  ];
  const logs = new Map<string, WriteStream>(
    specs.map((spec) => [
      spec.name,
      createWriteStream(path.join(logDir, `${spec.name}.log`), { flags: 'a' }),
    ]),
  );
  const supervisor = new Supervisor(specs, {
    policy: options.restartPolicy,
    log: (line) => log(line),
    output: (line, name) => logs.get(name)?.write(`${line.slice(name.length + 3)}\n`),
  });
  const closeLogs = () =>
    Promise.all([...logs.values()].map((s) => new Promise<void>((resolve) => s.end(() => resolve()))));
  const stop = async () => {
    await supervisor.stop();
    await closeLogs();
  };
  const address = `${ip}:${ports.frontend.grpc}`;
  const uiUrl = `http://${ip}:${ports.ui}`;
  const failedAtStart = supervisor.failed.then((error) => {
    throw new ClusterStartError(`${error.message}${lastError(logDir, error.message)}`);
  });
  try {
    await Promise.race([
      failedAtStart,
      (async () => {
        // On new databases every process would insert the cluster's metadata record at once, and all but
        // one exit on the duplicate key (to be restarted): the first node writes it alone.
        const [first, ...others] = specs.map((spec) => spec.name);
        supervisor.start([first!]);
        await waitForClusterMetadata(options.postgresUrl, databases.main);
        supervisor.start(others);
        const connection = await waitForFrontend(address, logDir, options.tls);
        try {
          await registerNamespace(cli, connection, address, namespace, options.tls);
        } finally {
          await connection.close();
        }
        await waitForHttp(uiUrl, 'the Temporal Web UI server', START_TIMEOUT_MS);
      })(),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  failedAtStart.catch(() => undefined);
  log(`Temporal cluster: ${nodes.map((n) => n.name).join(', ')}, temporal-ui (logs in ${logDir})`);
  return { address, uiUrl, failed: supervisor.failed, supervisor, stop };
}

/** Spare ports for every process of a cluster (tests, runs beside `npm start`). */
export async function freeClusterPorts(nodes = { history: 2, matching: 2 }): Promise<ClusterPorts> {
  const taken = new Set<number>();
  // The OS may hand out a port again once its probe closed: ask until all are distinct.
  const spare = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  // The OS's spare ports are ephemeral ones (32768 and up on Linux), too high for the membership table:
  // those are drawn at random below the limit and checked free.
  const spareMembership = async () => {
    for (;;) {
      const port = 20000 + Math.floor(Math.random() * (MAX_MEMBERSHIP_PORT - 20000));
      if (!taken.has(port) && (await canListen(port))) {
        taken.add(port);
        return port;
      }
    }
  };
  const node = async (): Promise<NodePorts> => ({
    grpc: await spare(),
    membership: await spareMembership(),
    metrics: await spare(),
  });
  const frontend = { ...(await node()), http: await spare() };
  const history: NodePorts[] = [];
  for (let i = 0; i < nodes.history; i++) history.push(await node());
  const matching: NodePorts[] = [];
  for (let i = 0; i < nodes.matching; i++) matching.push(await node());
  return { frontend, history, matching, worker: await node(), ui: await spare() };
}

function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function postgresTarget(url: string): ClusterLayout['postgres'] {
  const parsed = new URL(url);
  if (!/^postgres(ql)?:$/.test(parsed.protocol))
    throw new ClusterStartError(`${maskUrl(url)} is not a PostgreSQL URL (postgresql://user@host:port)`);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** One clear line when the server cannot be reached or refuses us, before the schema tool says it worse. */
async function checkPostgres(url: string): Promise<void> {
  const client = new PgClient({
    connectionString: withDatabase(url, 'postgres'),
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const target = new URL(url);
    throw new ClusterStartError(
      `cannot use PostgreSQL at ${target.hostname}:${target.port || 5432} for Temporal's databases ` +
        `(${code ?? 'error'}: ${message ?? String(error)})`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The schema version temporal-sql-tool recorded in a Temporal database. */
async function schemaVersion(url: string): Promise<string> {
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ curr_version: string }>('SELECT curr_version FROM schema_version');
    return rows[0]?.curr_version ?? '0.0';
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Compares dotted versions numerically ("1.18" > "1.9"). */
export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(pa!.length, pb!.length); i++) {
    const diff = (pa![i] ?? 0) - (pb![i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** Creates the database if missing and applies the schema versions it lacks (the tool skips the others). */
async function setupSchema(
  sqlTool: string,
  postgres: ClusterLayout['postgres'],
  database: string,
  schema: 'temporal' | 'visibility',
  logFile: string,
): Promise<void> {
  const base = ['--plugin', 'postgres12', '--ep', postgres.host, '-p', String(postgres.port)];
  base.push('-u', postgres.user, '--db', database);
  for (const step of schemaSteps(schema)) {
    // The password goes through the environment, not the command line that `ps` shows.
    const { code, output } = await run(sqlTool, [...base, ...step], { SQL_PASSWORD: postgres.password });
    writeFileSync(logFile, `$ temporal-sql-tool --db ${database} ${step.join(' ')}\n${output}\n`, {
      flag: 'a',
    });
    if (code !== 0) {
      const reason = output.trim().split('\n').filter(Boolean).pop() ?? `exit code ${code}`;
      throw new ClusterStartError(
        `Temporal schema setup failed (${database}: ${step[0]}): ${reason.slice(0, 300)}`,
      );
    }
  }
}

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => resolve({ code: -1, output: `${output}${error.message}` }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Until the first server process has written the cluster's metadata record (at once on a known database). */
async function waitForClusterMetadata(postgresUrl: string, database: string): Promise<void> {
  const client = new PgClient({ connectionString: withDatabase(postgresUrl, database) });
  await client.connect();
  try {
    await retry(async () => {
      const { rowCount } = await client.query('SELECT 1 FROM cluster_metadata_info LIMIT 1');
      if (!rowCount) throw new Error('no cluster metadata yet');
    }, 'first Temporal node to initialise the cluster metadata');
  } finally {
    await client.end();
  }
}

/** The frontend answers once it has joined the membership and found history and matching there. */
async function waitForFrontend(address: string, logDir: string, tls?: ClusterTls): Promise<Connection> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const connection = await Connection.connect({
        address,
        connectTimeout: 1000,
        ...(tls ? { tls: clusterClientTls(tls) } : {}),
      });
      try {
        await connection.workflowService.getSystemInfo({});
        return connection;
      } catch (error) {
        await connection.close();
        throw error;
      }
    } catch {
      if (Date.now() > deadline) {
        throw new ClusterStartError(
          `the Temporal frontend did not answer on ${address} within ${START_TIMEOUT_MS / 1000} s ` +
            `(logs in ${logDir})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * The production server creates no namespace and no search attribute: the CLI registers them, as the
 * compose file's temporal-setup does. Each step is idempotent, so a restart over the same databases
 * registers nothing twice. Returns once a query on every attribute is accepted.
 */
async function registerNamespace(
  cli: string,
  connection: Connection,
  address: string,
  namespace: string,
  tls?: ClusterTls,
): Promise<void> {
  const tlsArgs = tls
    ? ['--tls-ca-path', tls.serverCaFile, '--tls-cert-path', tls.clientCertFile].concat([
        '--tls-key-path',
        tls.clientKeyFile,
        '--tls-server-name',
        tls.serverName,
      ])
    : [];
  const temporal = async (...args: string[]) => {
    const { code, output } = await run(cli, [
      '--address',
      address,
      '--namespace',
      namespace,
      ...tlsArgs,
      ...args,
    ]);
    if (code !== 0) {
      const reason = output.trim().split('\n').pop() ?? `exit code ${code}`;
      throw new ClusterStartError(`temporal ${args.slice(0, 3).join(' ')} failed: ${reason}`);
    }
  };
  const described = await connection.workflowService.describeNamespace({ namespace }).then(
    () => true,
    () => false,
  );
  // Retention as in docker-compose.temporal.yml.
  if (!described) await temporal('operator', 'namespace', 'create', '--retention', NAMESPACE_RETENTION);
  await retry(async () => {
    await connection.workflowService.describeNamespace({ namespace });
  }, 'namespace to be served');

  const absent = await retry(() => missingSearchAttributes(connection, namespace), 'search attributes');
  for (const [name, type] of absent)
    await temporal('operator', 'search-attribute', 'create', '--name', name, '--type', type);
  const query = Object.keys(SEARCH_ATTRIBUTES)
    .map((name) => `${name} = 'probe'`)
    .join(' AND ');
  await retry(async () => {
    if ((await missingSearchAttributes(connection, namespace)).length > 0)
      throw new Error('search attributes not registered yet');
    await connection.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1 });
  }, 'search attributes to be queryable');
}

async function retry<T>(attempt: () => Promise<T>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline)
        throw new ClusterStartError(`timed out waiting for the ${what}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** How the cluster's own tools reach an mTLS frontend. */
export function clusterClientTls(tls: ClusterTls): TLSConfig {
  return {
    serverRootCACertificate: readFileSync(tls.serverCaFile),
    clientCertPair: { crt: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) },
    serverNameOverride: tls.serverName,
  };
}

/** The last error a crash-looping process logged: why it could not run. */
function lastError(logDir: string, reason: string): string {
  const name = /^(\S+) crashed/.exec(reason)?.[1];
  if (!name) return '';
  try {
    const lines = readFileSync(path.join(logDir, `${name}.log`), 'utf8')
      .trim()
      .split('\n');
    const line = [...lines].reverse().find((l) => /error|fatal|unable/i.test(l)) ?? lines.pop() ?? '';
    return `: ${line.slice(0, 300)}`;
  } catch {
    return '';
  }
}
