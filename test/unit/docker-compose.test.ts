import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/telemetry';
import { generateCodecKey } from '../../shared/encryption/config';
import { parse } from 'yaml';
import {
  DATABASE_URL_VARS,
  EXTRA_DATABASE_URL_VARS,
  SERVICES,
  apiConfigSchema,
  codecKeysConfigSchema,
  codecServerConfigSchema,
  jwtConfigSchema,
  telemetryConfigSchema,
  databaseConfigSchema,
  loadConfig,
  loadServiceDatabaseConfig,
  sagaConfigSchema,
  temporalConfigSchema,
  workerConfigSchema,
  type ServiceName,
} from '../../shared/config';
import { SEARCH_ATTRIBUTES } from '../../shared/search-attributes';
import { TEMPORAL_CLI_VERSION } from '../../scripts/temporal/provision';
import { localStackConfigSchema } from '../../scripts/lib/local-stack-config';
import {
  CLUSTER_NAMESPACE,
  NAMESPACE_RETENTION,
  clusterNodes,
  clusterPortsFrom,
  dynamicConfig,
  schemaSteps,
  temporalDatabases,
} from '../../scripts/temporal/cluster-config';
import { DISPATCH_DYNAMIC_CONFIG } from '../../scripts/temporal/dispatch-config';
import { TEMPORAL_SERVER_VERSION, TEMPORAL_UI_SERVER_VERSION } from '../../scripts/temporal/server-build';
import { eventBusConfigSchema } from '../../shared/event-bus';

/**
 * docker-compose.temporal.yml and the Dockerfile cannot run here (no Docker engine), so this keeps them
 * from rotting: every service, dependency, entry point, variable, port, database and search attribute they
 * name must exist in the code. Each check collects every problem it finds and fails with all of them.
 */

const ROOT = path.resolve(__dirname, '../..');
const COMPOSE_FILE = 'docker-compose.temporal.yml';
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Variables our processes may get that are not in shared/config.ts, each with its reason. */
const EXTRA_VARIABLES: Record<string, string> = {
  NODE_ENV: 'Node convention (Express and other libraries read it); set to production by the Dockerfile',
  OTEL_EXPORTER_OTLP_ENDPOINT:
    "read by the OpenTelemetry SDK's OTLP exporter itself (shared/telemetry/tracing.ts)",
};

/** The config schemas in shared/config.ts; every variable our services get must be a key of one. */
const CONFIG_SCHEMAS = {
  temporalConfigSchema,
  databaseConfigSchema,
  sagaConfigSchema,
  workerConfigSchema,
  apiConfigSchema,
  telemetryConfigSchema,
  codecServerConfigSchema,
  // The entry points load it through shared/encryption's codecConfigSchema.
  codecConfigSchema: codecKeysConfigSchema,
  // Its variables, checked as one (the transform to a JwtConfig adds nothing to check).
  jwtConfigSchema: jwtConfigSchema.in,
  // shared/event-bus.ts: the broker and stream of the domain events (the service workers' relays).
  eventBusConfigSchema,
};
const CONFIG_VARIABLES = new Set(
  Object.values(CONFIG_SCHEMAS).flatMap((schema) => Object.keys(schema.shape)),
);

const TEMPORAL_DEFAULTS = temporalConfigSchema.parse({});

/** The process kinds `worker/main.ts <kind>` accepts. */
const WORKER_KINDS: readonly string[] = ['orchestrator', ...SERVICES];

/** The entry points the image runs, and for each the schemas it loads (see the file named). */
const ENTRY_POINTS: Record<string, { schemas: string[] }> = {
  'api/main.ts': {
    schemas: [
      'temporalConfigSchema',
      'sagaConfigSchema',
      'apiConfigSchema',
      'telemetryConfigSchema',
      'codecConfigSchema',
      'jwtConfigSchema',
    ],
  },
  'worker/main.ts': {
    schemas: [
      'temporalConfigSchema',
      'workerConfigSchema',
      'telemetryConfigSchema',
      'codecConfigSchema',
      'eventBusConfigSchema',
    ],
  }, // + loadServiceDatabaseConfig
  // API_KEYS and LOG_LEVEL only, from the API's and Temporal's schemas.
  'codec-server/main.ts': {
    schemas: [
      'codecServerConfigSchema',
      'codecConfigSchema',
      'apiConfigSchema',
      'temporalConfigSchema',
      'jwtConfigSchema',
    ],
  },
  'scripts/db/prepare.ts': { schemas: ['databaseConfigSchema'] },
};

/**
 * The stack runs the Temporal server and UI that the dev server of our pinned Temporal CLI bundles, which
 * is what the integration tests run against. Bumping TEMPORAL_CLI_VERSION: look up the server and UI of the
 * new CLI (`temporal --version`), move the compose images to them, then update this.
 */
const DEV_SERVER = { cli: 'v1.5.1', server: '1.29.', ui: '2.42.' };

// ------------------------------------------------------------------------------------------- parsing

interface Healthcheck {
  test?: string[] | string;
}
interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  depends_on?: Record<string, { condition?: string }> | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: number | string; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  healthcheck?: Healthcheck;
  restart?: string;
}
interface ComposeFile {
  services?: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const composeText = read(COMPOSE_FILE);
// merge: the file shares environment blocks with YAML merge keys (<<: *anchor), as Compose does.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const services: Record<string, ComposeService> = compose.services ?? {};
const serviceNames = Object.keys(services);
/** Our own services: those built from this repository. */
const ours = Object.entries(services).filter(([, service]) => service.build !== undefined);

function environment(service: ComposeService | undefined): Record<string, string> {
  const env = service?.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => [entry.split('=')[0] ?? entry, entry.split('=').slice(1).join('=')]),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]),
  );
}

/** A value as Compose passes it on: `$$` is a literal `$`, `${VAR:-default}` takes the default here. */
/** Values an operator must supply (`${NAME:?message}` in the compose file), as the checks assume them. */
const OPERATOR_SUPPLIED: Record<string, string> = {
  SAGA_CODEC_KEYS: generateCodecKey('compose-check'),
  API_KEYS: 'compose-check-api-key-0123456789',
  TEMPORAL_DB_PASSWORD: 'compose-check-temporal-password',
  SERVICES_DB_PASSWORD: 'compose-check-services-password',
  GRAFANA_ADMIN_PASSWORD: 'compose-check-grafana-password',
};

/** The only variables the file may give a fallback (`${VAR:-value}`): none of them is a secret. */
// Optional settings, none a secret: a JWKS holds public keys only (the schema refuses private ones).
const NON_SECRET_FALLBACKS = new Set([
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'PUBLISH_ADDRESS',
  'SAGA_CODEC_ACTIVE_KEY_ID',
  'API_JWT_ISSUER',
  'API_JWT_AUDIENCE',
  'API_JWT_JWKS_URL',
  'API_JWT_JWKS',
  'API_JWT_ALGORITHMS',
  'API_TRUST_PROXY',
  'CODEC_SERVER_TRUST_PROXY',
]);

function interpolate(value: string): string {
  return value.replace(
    /\$\$|\$\{(\w+)(?:(:?-)([^}]*)|:?\?[^}]*)?\}/g,
    (match: string, name?: string, dash?: string, fallback?: string) =>
      match === '$$' ? '$' : dash ? (fallback ?? '') : (OPERATOR_SUPPLIED[name ?? ''] ?? ''),
  );
}

function commandOf(service: ComposeService): string[] {
  const command = service.command ?? [];
  return Array.isArray(command) ? command.map(String) : command.split(/\s+/).filter(Boolean);
}

function dependencies(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(
    Object.entries(deps).map(([name, dep]) => [name, dep?.condition ?? 'service_started']),
  );
}

/**
 * Published ports as {host, container, address}, from the short ("8233:8080", "127.0.0.1:3000:3000") or
 * long syntax, after interpolation (an address from a variable takes its fallback). No address: all
 * interfaces.
 */
function publishedPorts(
  service: ComposeService | undefined,
): { host: string; container: string; address: string }[] {
  return (service?.ports ?? []).map((port) => {
    if (typeof port === 'object')
      return {
        host: String(port.published ?? ''),
        container: String(port.target),
        address: interpolate(port.host_ip ?? ''),
      };
    const parts = interpolate(String(port))
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const container = parts.pop() ?? '';
    const host = parts.pop() ?? '';
    return { host, container, address: parts.join(':') };
  });
}

function imageTag(image: string | undefined): { name: string; tag: string } {
  const match = /^(.+?)(?::([^:/@]+))?(?:@sha256:[0-9a-f]+)?$/.exec(image ?? '');
  return { name: match?.[1] ?? '', tag: match?.[2] ?? '' };
}

/** What an entry point of ours runs: the .ts file and its arguments, and whether it goes through tsx. */
function entryPoint(command: string[]): { file?: string; args: string[]; viaTsx: boolean } {
  const index = command.findIndex((part) => part.endsWith('.ts'));
  const before = command.slice(0, Math.max(index, 0)).join(' ');
  return {
    file: index >= 0 ? command[index] : undefined,
    args: index >= 0 ? command.slice(index + 1) : [],
    viaTsx: /^(node --import tsx|(\S*\/)?tsx)$/.test(before),
  };
}

const workerKindOf = (service: ComposeService): string | undefined => {
  const entry = entryPoint(commandOf(service));
  return entry.file === 'worker/main.ts' ? entry.args[0] : undefined;
};
const serviceWorkers = Object.fromEntries(
  ours.flatMap(([name, service]) => {
    const kind = workerKindOf(service);
    return kind && (SERVICES as readonly string[]).includes(kind) ? [[kind, name]] : [];
  }),
) as Partial<Record<ServiceName, string>>;
const orchestrators = ours.filter(([, service]) => workerKindOf(service) === 'orchestrator');
const apis = ours.filter(([, service]) => entryPoint(commandOf(service)).file === 'api/main.ts');
const migrations = ours.filter(
  ([, service]) => entryPoint(commandOf(service)).file === 'scripts/db/prepare.ts',
);
const byImage = (name: string) => Object.entries(services).filter(([, s]) => imageTag(s.image).name === name);

// Dockerfile: instructions with their continuation lines joined.
interface Instruction {
  op: string;
  args: string;
}
function dockerfileInstructions(file: string): Instruction[] {
  const text = read(file)
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}
function envOfInstruction(args: string): [string, string][] {
  if (!/^\S+=/.test(args)) {
    const [key = '', ...value] = args.split(/\s+/);
    return [[key, value.join(' ')]];
  }
  return args.split(/\s+/).map((pair) => [pair.split('=')[0] ?? '', pair.split('=').slice(1).join('=')]);
}

/** Local files a TypeScript file imports, transitively (relative imports only). */
function importClosure(start: string, seen = new Set<string>()): Set<string> {
  if (seen.has(start)) return seen;
  seen.add(start);
  const source = read(start);
  for (const match of source.matchAll(/(?:from\s+|require\(|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
    const base = path.join(path.dirname(start), match[1] ?? '');
    const file = [`${base}.ts`, path.join(base, 'index.ts'), base].find((candidate) =>
      statSync(path.join(ROOT, candidate), { throwIfNoEntry: false })?.isFile(),
    );
    // Generated Prisma clients are made inside the image, not copied into it.
    if (file && !file.split(path.sep).includes('generated')) importClosure(file, seen);
  }
  return seen;
}

/** A .dockerignore pattern as a regular expression on paths relative to the context. */
function ignoreMatcher(patterns: string[]): (file: string) => boolean {
  const regexes = patterns.map((pattern) => {
    const source = pattern
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .map((part) =>
        part === '**'
          ? '.*'
          : part
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
      )
      .join('/')
      .replace(/^\.\*\//, '(?:.*/)?');
    return new RegExp(`^${source}(?:/.*)?$`);
  });
  return (file) => regexes.some((regex) => regex.test(file));
}

/** Prometheus, Grafana and Jaeger, each once in the file (ops/). */
const MONITORING_IMAGES = ['prom/prometheus', 'grafana/grafana', 'jaegertracing/jaeger'] as const;

/** The host path mounted at `target` in a service, e.g. ./ops/prometheus/rules.yml. */
function mountedAt(service: ComposeService | undefined, target: string): string | undefined {
  for (const volume of service?.volumes ?? []) {
    const [source, at] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
    if (at === target) return source;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------- checks

describe(COMPOSE_FILE, () => {
  test('has the whole stack: Temporal, its setup and UI, the databases, migrate, API and every process kind', () => {
    const problems: string[] = [];
    if (byImage('temporalio/server').length !== 1)
      problems.push('no (or more than one) temporalio/server service');
    if (byImage('temporalio/ui').length !== 1) problems.push('no (or more than one) temporalio/ui service');
    if (apis.length !== 1) problems.push(`expected one service running api/main.ts, found ${apis.length}`);
    if (orchestrators.length !== 1)
      problems.push(`expected one orchestrator worker, found ${orchestrators.length}`);
    if (migrations.length !== 1) problems.push(`expected one migrate service (scripts/db/prepare.ts)`);
    for (const kind of SERVICES) {
      if (!serviceWorkers[kind]) problems.push(`no service runs \`worker/main.ts ${kind}\``);
    }
    expect(problems).toEqual([]);
  });

  test('every dependency exists, can be waited for, and the dependencies have no cycle', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependencies(service))) {
        const target = services[dependency];
        if (!target) {
          problems.push(`${name} depends on "${dependency}", which is not a service of ${COMPOSE_FILE}`);
          continue;
        }
        if (condition === 'service_healthy' && !target.healthcheck) {
          problems.push(
            `${name} waits for ${dependency} to be healthy, but ${dependency} has no healthcheck`,
          );
        }
        if (
          condition === 'service_completed_successfully' &&
          !['no', 'on-failure'].includes(String(target.restart))
        ) {
          problems.push(
            `${name} waits for one-shot ${dependency} to complete, but its restart is ${target.restart}`,
          );
        }
        if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition)) {
          problems.push(`${name} -> ${dependency}: unknown condition ${condition}`);
        }
      }
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, trail: string[]): void => {
      if (done.has(name) || !services[name]) return;
      if (visiting.has(name)) {
        problems.push(`dependency cycle: ${[...trail, name].join(' -> ')}`);
        return;
      }
      visiting.add(name);
      for (const dependency of Object.keys(dependencies(services[name] as ComposeService))) {
        visit(dependency, [...trail, name]);
      }
      visiting.delete(name);
      done.add(name);
    };
    serviceNames.forEach((name) => visit(name, []));
    expect(problems).toEqual([]);
  });

  test('our services build from the repository Dockerfile and run entry points that exist, through tsx', () => {
    const problems: string[] = [];
    expect(ours.length).toBeGreaterThan(0);
    for (const [name, service] of ours) {
      const build = typeof service.build === 'string' ? { context: service.build } : (service.build ?? {});
      const dockerfile = path.join(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
      if (path.resolve(ROOT, build.context ?? '.') !== ROOT) {
        problems.push(`${name}: build context ${build.context} is not the repository root`);
      }
      if (!existsSync(dockerfile))
        problems.push(`${name}: ${path.relative(ROOT, dockerfile)} does not exist`);
      const command = commandOf(service);
      const entry = entryPoint(command);
      if (!entry.file) {
        problems.push(`${name}: command "${command.join(' ')}" names no .ts entry point`);
        continue;
      }
      if (!ENTRY_POINTS[entry.file]) {
        problems.push(
          `${name}: ${entry.file} is not an entry point (${Object.keys(ENTRY_POINTS).join(', ')})`,
        );
      }
      if (!existsSync(path.join(ROOT, entry.file))) problems.push(`${name}: ${entry.file} does not exist`);
      if (!entry.viaTsx) problems.push(`${name}: "${command.join(' ')}" does not run through tsx`);
      if (
        entry.file === 'worker/main.ts' &&
        (entry.args.length !== 1 || !WORKER_KINDS.includes(entry.args[0] ?? ''))
      ) {
        problems.push(
          `${name}: worker kind "${entry.args.join(' ')}" is not one of ${WORKER_KINDS.join('|')}`,
        );
      }
    }
    expect(problems).toEqual([]);
  });

  test('every variable given to our services is read by shared/config.ts and valid there', () => {
    const problems: string[] = [];
    for (const [name, service] of ours) {
      const env = environment(service);
      for (const variable of Object.keys(env)) {
        if (!CONFIG_VARIABLES.has(variable) && !(variable in EXTRA_VARIABLES)) {
          problems.push(
            `${name}: ${variable} is not a key of ${Object.keys(CONFIG_SCHEMAS).join(', ')} in shared/config.ts`,
          );
        }
      }
      // The values must pass the schemas the process loads (as Compose would pass them).
      const values = Object.fromEntries(Object.entries(env).map(([key, value]) => [key, interpolate(value)]));
      const entry = entryPoint(commandOf(service));
      const check = (what: string, load: () => unknown) => {
        try {
          load();
        } catch (error) {
          problems.push(`${name}: ${what}: ${(error as Error).message}`);
        }
      };
      const schemas = (ENTRY_POINTS[entry.file ?? '']?.schemas ?? []).map(
        (schema) => CONFIG_SCHEMAS[schema as keyof typeof CONFIG_SCHEMAS],
      );
      // A variable the process does not read is a mistake too (e.g. a database URL given to the API).
      const readHere = new Set([
        ...schemas.flatMap((schema) => Object.keys(schema.shape)),
        ...Object.keys(EXTRA_VARIABLES),
      ]);
      const kind = workerKindOf(service);
      if (kind && (SERVICES as readonly string[]).includes(kind)) {
        readHere.add(DATABASE_URL_VARS[kind as ServiceName]);
        for (const extra of EXTRA_DATABASE_URL_VARS[kind as ServiceName]) readHere.add(extra);
        readHere.add('DATABASE_POOL_SIZE');
        check('loadServiceDatabaseConfig', () => loadServiceDatabaseConfig(kind as ServiceName, values));
      }
      for (const variable of Object.keys(env)) {
        if (CONFIG_VARIABLES.has(variable) && !readHere.has(variable)) {
          problems.push(`${name}: ${variable} is not read by ${entry.file}${kind ? ` ${kind}` : ''}`);
        }
      }
      for (const schema of schemas) {
        check('config', () => loadConfig(schema, values));
      }
    }
    expect(problems).toEqual([]);
  });

  test('the schemas listed per entry point are the ones it loads', () => {
    const problems: string[] = [];
    for (const [file, { schemas }] of Object.entries(ENTRY_POINTS)) {
      const source = read(file);
      for (const schema of schemas) {
        if (!source.includes(schema))
          problems.push(`${file} no longer mentions ${schema}: update ENTRY_POINTS`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('each service worker gets its own database URL and no other (payments: and the provider store); migrate gets all, the same', () => {
    const problems: string[] = [];
    const urlVariables = (env: Record<string, string>) =>
      Object.keys(env).filter((v) => v.endsWith('_DATABASE_URL'));
    for (const kind of SERVICES) {
      const name = serviceWorkers[kind];
      if (!name) continue;
      const env = environment(services[name]);
      const got = urlVariables(env);
      const expected = [DATABASE_URL_VARS[kind], ...EXTRA_DATABASE_URL_VARS[kind]];
      if (got.join() !== expected.join()) {
        problems.push(`${name} gets [${got.join(', ')}], expected exactly ${expected.join(', ')}`);
      }
      for (const [migrate, service] of migrations) {
        for (const variable of expected) {
          const url = environment(service)[variable];
          if (url !== env[variable]) {
            problems.push(`${migrate} prepares ${variable}=${url}, ${name} uses ${env[variable]}`);
          }
        }
      }
    }
    for (const [name, service] of [...apis, ...orchestrators]) {
      const got = urlVariables(environment(service));
      if (got.length) problems.push(`${name} must not get a service database URL, gets ${got.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  test('the database URLs point at a PostgreSQL service of the file, its user, and databases its init creates', () => {
    const problems: string[] = [];
    const urlsOfWorkers = SERVICES.flatMap((kind) =>
      [DATABASE_URL_VARS[kind], ...EXTRA_DATABASE_URL_VARS[kind]].map((variable) => ({ kind, variable })),
    );
    for (const { kind, variable } of urlsOfWorkers) {
      const name = serviceWorkers[kind];
      const raw = name ? environment(services[name])[variable] : undefined;
      if (!name || !raw) continue;
      const url = new URL(interpolate(raw));
      const server = services[url.hostname];
      if (!server) {
        problems.push(`${variable}: host ${url.hostname} is not a service of ${COMPOSE_FILE}`);
        continue;
      }
      const serverEnv = environment(server);
      if (url.username !== serverEnv.POSTGRES_USER) {
        problems.push(
          `${variable}: user ${url.username}, but ${url.hostname} creates ${serverEnv.POSTGRES_USER}`,
        );
      }
      if (decodeURIComponent(url.password) !== interpolate(serverEnv.POSTGRES_PASSWORD ?? '')) {
        problems.push(`${variable}: password differs from ${url.hostname}'s POSTGRES_PASSWORD`);
      }
      if ((url.port || '5432') !== '5432') problems.push(`${variable}: port ${url.port}, not 5432`);
      const init = (server.volumes ?? [])
        .map((volume) =>
          typeof volume === 'string' ? volume.split(':') : [volume.source ?? '', volume.target],
        )
        .filter(([, target]) => target?.startsWith('/docker-entrypoint-initdb.d/'))
        .map(([source]) => read(source ?? ''))
        .join('\n');
      const database = url.pathname.slice(1);
      if (!new RegExp(`CREATE DATABASE "?${database}"?\\s*;`, 'i').test(init)) {
        problems.push(`${variable}: no init script of ${url.hostname} creates database ${database}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('our services reach the Temporal server of the file, after the search attributes are registered', () => {
    const problems: string[] = [];
    const [temporalName] = byImage('temporalio/server')[0] ?? [];
    const setups = Object.entries(services).filter(([, s]) =>
      commandOf(s).join(' ').includes('search-attribute create'),
    );
    for (const [name, service] of ours) {
      if (migrations.some(([migrate]) => migrate === name)) continue; // databases only
      if (entryPoint(commandOf(service)).file === 'codec-server/main.ts') continue; // payloads only
      const address = environment(service).TEMPORAL_ADDRESS ?? '';
      if (address !== `${temporalName}:7233`) {
        problems.push(
          `${name}: TEMPORAL_ADDRESS=${address}, expected ${temporalName}:7233 (the temporalio/server service)`,
        );
      }
      for (const [setup] of setups) {
        if (dependencies(service)[setup] !== 'service_completed_successfully') {
          problems.push(
            `${name} must wait for ${setup} (service_completed_successfully): it uses the search attributes`,
          );
        }
      }
    }
    for (const [migrate, service] of migrations) {
      const got = Object.keys(environment(service)).filter((v) => v.startsWith('TEMPORAL_'));
      if (got.length) problems.push(`${migrate} does not talk to Temporal, but gets ${got.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  test('registers exactly the custom search attributes of shared/search-attributes.ts, in our namespace', () => {
    const setups = Object.entries(services).filter(([, s]) =>
      commandOf(s).join(' ').includes('search-attribute create'),
    );
    expect(setups.map(([name]) => name)).toHaveLength(1);
    const [setupName, setup] = setups[0] as [string, ComposeService];
    const script = commandOf(setup).join('\n');
    const registered = Object.fromEntries(
      [...script.matchAll(/search-attribute create\s+--name\s+(\w+)\s+--type\s+(\w+)/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    expect({ [`${setupName} registers`]: registered }).toEqual({
      [`${setupName} registers`]: SEARCH_ATTRIBUTES,
    });

    const problems: string[] = [];
    if (!imageTag(setup.image).name.startsWith('temporalio/admin-tools')) {
      problems.push(
        `${setupName} should run temporalio/admin-tools (it has the temporal CLI), runs ${setup.image}`,
      );
    }
    const [temporalName] = byImage('temporalio/server')[0] ?? [];
    if (temporalName && dependencies(setup)[temporalName] !== 'service_healthy') {
      problems.push(`${setupName} must wait for ${temporalName} to be healthy`);
    }
    const setupEnv = environment(setup);
    for (const [name, service] of [
      ...apis,
      ...orchestrators,
      ...Object.values(serviceWorkers).map((n) => [n, services[n]] as const),
    ]) {
      const env = environment(service);
      for (const variable of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'] as const) {
        const used = env[variable] ?? TEMPORAL_DEFAULTS[variable];
        if (setupEnv[variable] !== used) {
          problems.push(`${setupName} uses ${variable}=${setupEnv[variable]}, ${name} uses ${used}`);
        }
      }
    }
    if (!/--address "\$\$TEMPORAL_ADDRESS" --namespace "\$\$TEMPORAL_NAMESPACE"/.test(script)) {
      problems.push(`${setupName} must pass its TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE to the temporal CLI`);
    }
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) {
      if (!new RegExp(`workflow list .*--query "[^"]*\\b${name}\\b`).test(script)) {
        problems.push(`${setupName} does not wait until a query on ${name} is accepted`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('ports: the API publishes its API_PORT, the Web UI 8233, on the loopback unless PUBLISH_ADDRESS says otherwise', () => {
    const problems: string[] = [];
    for (const [name, service] of apis) {
      const env = environment(service);
      const port = env.API_PORT ?? String(apiConfigSchema.shape.API_PORT.parse(undefined));
      const published = publishedPorts(service);
      if (published.length !== 1 || published[0]?.container !== port || published[0]?.host !== port) {
        problems.push(
          `${name} publishes ${JSON.stringify(published)}, expected ${port}:${port} (API_PORT=${port})`,
        );
      }
      if (env.API_HOST !== '0.0.0.0')
        problems.push(`${name}: API_HOST must be 0.0.0.0 in a container, is ${env.API_HOST}`);
      if (!/^\$\{API_KEYS:\?[^}]+\}$/.test(env.API_KEYS ?? '')) {
        problems.push(
          `${name}: API_KEYS must be required from the environment (\${API_KEYS:?message}), is ${env.API_KEYS}`,
        );
      }
      const healthcheck = [service.healthcheck?.test ?? []].flat().join(' ');
      if (
        !healthcheck.includes('/health/ready') ||
        !read('api/routes/health.ts').includes("'/health/ready'")
      ) {
        problems.push(`${name}: the healthcheck must call GET /health/ready (api/routes/health.ts)`);
      }
      const uiUrl = new URL(env.TEMPORAL_UI_URL ?? 'http://invalid');
      if (uiUrl.port !== '8233')
        problems.push(`${name}: TEMPORAL_UI_URL=${env.TEMPORAL_UI_URL} is not the UI on 8233`);
    }
    for (const [name, service] of byImage('temporalio/ui')) {
      const published = publishedPorts(service);
      if (!published.some((p) => p.host === '8233' && p.container === '8080')) {
        problems.push(`${name} publishes ${JSON.stringify(published)}, expected 8233:8080`);
      }
      if (published.length !== 1) problems.push(`${name} publishes more than the Web UI's port`);
      const [temporalName] = byImage('temporalio/server')[0] ?? [];
      if (environment(service).TEMPORAL_ADDRESS !== `${temporalName}:7233`) {
        problems.push(`${name}: TEMPORAL_ADDRESS must be ${temporalName}:7233`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('only the API, the Web UI and the monitoring UIs are published, on 127.0.0.1 by default (PUBLISH_ADDRESS moves them)', () => {
    const problems: string[] = [];
    const allowed = new Set([
      ...apis.map(([name]) => name),
      ...byImage('temporalio/ui').map(([name]) => name),
      ...MONITORING_IMAGES.flatMap((image) => byImage(image).map(([name]) => name)),
    ]);
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        const raw = typeof port === 'object' ? String(port.host_ip ?? '') : String(port);
        if (!allowed.has(name)) {
          problems.push(
            `${name} publishes ${JSON.stringify(port)}: only the API, the Web UI and the monitoring UIs may`,
          );
          continue;
        }
        const [published] = publishedPorts({ ports: [port] });
        if (published?.address !== '127.0.0.1')
          problems.push(`${name}: ${JSON.stringify(port)} is not on 127.0.0.1 by default`);
        if (typeof port !== 'object' && !raw.startsWith('${PUBLISH_ADDRESS:-127.0.0.1}:'))
          problems.push(`${name}: ${raw} does not take its address from PUBLISH_ADDRESS`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('no secret has a fallback: keys and passwords are required from the environment (${VAR:?message})', () => {
    const text = read(COMPOSE_FILE)
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n');
    const problems: string[] = [];
    for (const match of text.matchAll(/\$\{(\w+)(:?-)[^}]*\}/g)) {
      if (!NON_SECRET_FALLBACKS.has(match[1]!)) problems.push(`${match[0]} gives ${match[1]} a fallback`);
    }
    const required = (value: string, variable: string) =>
      new RegExp(`^\\$\\{${variable}:\\?[^}]+\\}$`).test(value);
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environment(service))) {
        if (/PASSWORD|PWD|SECRET|API_KEYS|CODEC_KEYS/.test(key) && !/^\$\{\w+:\?[^}]+\}$/.test(value))
          problems.push(`${name}: ${key} is not required from the environment (\${VAR:?message})`);
        if (/postgres(ql)?:\/\//.test(value)) {
          const password = /^postgres(?:ql)?:\/\/[^:@/]+:(.*)@[^@]+$/.exec(value)?.[1] ?? '';
          if (!required(password, 'SERVICES_DB_PASSWORD') && !required(password, 'TEMPORAL_DB_PASSWORD'))
            problems.push(`${name}: ${key} has a password that is not required from the environment`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('images are pinned, and Temporal is the version our tests run against', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      if (service.build) continue;
      const { tag } = imageTag(service.image);
      if (!tag || tag === 'latest')
        problems.push(`${name}: image ${service.image} is not pinned to a version`);
    }
    if (TEMPORAL_CLI_VERSION !== DEV_SERVER.cli) {
      problems.push(`TEMPORAL_CLI_VERSION is ${TEMPORAL_CLI_VERSION}: see DEV_SERVER in this test`);
    }
    const server = imageTag(byImage('temporalio/server')[0]?.[1].image).tag;
    if (!server.startsWith(DEV_SERVER.server))
      problems.push(`temporalio/server:${server} is not ${DEV_SERVER.server}x`);
    for (const [name] of byImage('temporalio/ui')) {
      const { tag } = imageTag(services[name]?.image);
      if (!tag.startsWith(DEV_SERVER.ui))
        problems.push(`${name}: temporalio/ui:${tag} is not ${DEV_SERVER.ui}x`);
    }
    for (const [name, service] of byImage('temporalio/admin-tools')) {
      const { tag } = imageTag(service.image);
      if (tag !== server && !tag.startsWith(`${server}-`)) {
        problems.push(`${name}: temporalio/admin-tools:${tag} does not match temporalio/server:${server}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('named volumes are declared and bind-mounted files exist', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? (volume.split(':')[0] ?? '') : (volume.source ?? '');
        if (source.startsWith('.') || source.startsWith('/')) {
          if (!existsSync(path.join(ROOT, source))) problems.push(`${name}: ${source} does not exist`);
        } else if (source && !(source in (compose.volumes ?? {}))) {
          problems.push(`${name}: volume ${source} is not declared under volumes:`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe(`${COMPOSE_FILE}: monitoring`, () => {
  const one = (image: string) => {
    const found = byImage(image);
    if (found.length !== 1) throw new Error(`expected one ${image} service, found ${found.length}`);
    return found[0] as [string, ComposeService];
  };

  test('has Prometheus, Grafana and Jaeger', () => {
    for (const image of MONITORING_IMAGES) expect(byImage(image)).toHaveLength(1);
  });

  test("Prometheus gets the shipped config and rules, where the config's rule_files point", () => {
    const [, prometheus] = one('prom/prometheus');
    const command = commandOf(prometheus);
    const configPath = command.find((arg) => arg.startsWith('--config.file='))?.split('=')[1] ?? '';
    expect(mountedAt(prometheus, configPath)).toBe('./ops/prometheus/prometheus.yml');
    const config = parse(read('ops/prometheus/prometheus.yml')) as { rule_files: string[] };
    const problems: string[] = [];
    for (const file of config.rule_files) {
      const inContainer = path.posix.resolve(path.posix.dirname(configPath), file);
      const source = mountedAt(prometheus, inContainer);
      if (!source) problems.push(`rule file ${inContainer} is not mounted`);
      else if (!existsSync(path.join(ROOT, source))) problems.push(`${source} does not exist`);
    }
    expect(problems).toEqual([]);
  });

  test('Prometheus scrapes the API at its API_PORT and every worker kind at its METRICS_PORT, labelled as the rules expect', () => {
    type StaticConfig = { targets: string[]; labels?: Record<string, string> };
    const config = parse(read('ops/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; static_configs: StaticConfig[] }[];
    };
    const job = (name: string) =>
      config.scrape_configs.find((c) => c.job_name === name)?.static_configs ?? [];
    const [apiName, api] = apis[0] ?? ['', {}];
    expect(job('saga-api').flatMap((c) => c.targets)).toEqual([`${apiName}:${environment(api).API_PORT}`]);
    const problems: string[] = [];
    const workerTargets = job('saga-workers');
    for (const kind of WORKER_KINDS) {
      const [name, service] = ours.find(([, s]) => workerKindOf(s) === kind) ?? ['', {}];
      const expected = `${name}:${environment(service).METRICS_PORT}`;
      const target = workerTargets.find((c) => c.targets.includes(expected));
      if (!target) problems.push(`no saga-workers target ${expected} (the ${kind} worker)`);
      else if (target.labels?.worker !== kind) problems.push(`${expected} is not labelled worker="${kind}"`);
    }
    // The kinds the worker-without-poller alert names are exactly the worker kinds.
    const rules = read('ops/prometheus/rules.yml');
    const absentKinds = [...rules.matchAll(/absent\(up\{job="saga-workers", worker="(\w+)"\}\)/g)].map(
      (m) => m[1],
    );
    expect(absentKinds.sort()).toEqual([...WORKER_KINDS].sort());
    expect(problems).toEqual([]);
  });

  test('Grafana: admin password required, the Prometheus datasource and the dashboard provisioned', () => {
    const [, grafana] = one('grafana/grafana');
    const [prometheusName] = one('prom/prometheus');
    expect(environment(grafana).GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}$/);
    expect(environment(grafana).GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(mountedAt(grafana, '/etc/grafana/provisioning/datasources')).toBe(
      './ops/grafana/provisioning/datasources',
    );
    expect(mountedAt(grafana, '/etc/grafana/provisioning/dashboards')).toBe(
      './ops/grafana/provisioning/dashboards',
    );
    const datasources = parse(read('ops/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    const datasource = datasources.datasources[0];
    expect(datasource).toMatchObject({ type: 'prometheus', url: `http://${prometheusName}:9090` });
    const providers = parse(read('ops/grafana/provisioning/dashboards/saga.yml')) as {
      providers: { options: { path: string } }[];
    };
    const dashboardsDir = providers.providers[0]?.options.path ?? '';
    expect(mountedAt(grafana, dashboardsDir)).toBe('./ops/grafana/dashboards');
    const home = environment(grafana).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    expect(
      existsSync(path.join(ROOT, 'ops/grafana/dashboards', path.posix.relative(dashboardsDir, home))),
    ).toBe(true);
    // Every panel queries the provisioned datasource.
    const dashboard = JSON.parse(read('ops/grafana/dashboards/saga.json')) as {
      panels: { title: string; datasource: { uid: string }; targets: { datasource: { uid: string } }[] }[];
    };
    const elsewhere = dashboard.panels.filter(
      (panel) =>
        panel.datasource.uid !== datasource?.uid ||
        panel.targets.some((target) => target.datasource.uid !== datasource?.uid),
    );
    expect(elsewhere.map((panel) => panel.title)).toEqual([]);
  });

  test("our services' OTLP endpoint is Jaeger's OTLP/HTTP port", () => {
    const [jaegerName] = one('jaegertracing/jaeger');
    const problems: string[] = [];
    for (const [name, service] of ours) {
      const endpoint = environment(service).OTEL_EXPORTER_OTLP_ENDPOINT;
      if (endpoint === undefined) continue;
      if (interpolate(endpoint) !== `http://${jaegerName}:4318`)
        problems.push(`${name}: OTEL_EXPORTER_OTLP_ENDPOINT=${endpoint} is not http://${jaegerName}:4318`);
    }
    expect(apis.every(([, service]) => environment(service).OTEL_EXPORTER_OTLP_ENDPOINT)).toBe(true);
    expect(problems).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfileInstructions('Dockerfile');
  const stages = instructions.filter((i) => i.op === 'FROM');
  const finalStage = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1] as Instruction));

  test('is the image the compose file builds', () => {
    expect(existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
    expect(
      ours.map(([name, s]) => [name, typeof s.build === 'object' ? s.build.dockerfile : undefined]),
    ).toEqual(ours.map(([name]) => [name, 'Dockerfile']));
  });

  test('builds on node:20-bookworm-slim and runs as a non-root user', () => {
    const args = Object.fromEntries(
      instructions
        .filter((i) => i.op === 'ARG')
        .map((i) => [i.args.split('=')[0], i.args.split('=').slice(1).join('=')]),
    );
    const stageNames = new Set(stages.map((s) => /\sAS\s+(\S+)/i.exec(s.args)?.[1]));
    const problems: string[] = [];
    for (const stage of stages) {
      const image = (stage.args.split(/\s+/)[0] ?? '').replace(
        /\$\{?(\w+)\}?/g,
        (_m, name: string) => args[name] ?? '',
      );
      if (!stageNames.has(image) && image !== 'node:20-bookworm-slim') {
        problems.push(`FROM ${stage.args}: expected node:20-bookworm-slim`);
      }
    }
    const user = finalStage.filter((i) => i.op === 'USER').pop()?.args;
    if (!user || ['root', '0'].includes(user.split(':')[0] ?? ''))
      problems.push(`the final stage runs as ${user ?? 'root'}`);
    expect(problems).toEqual([]);
  });

  test('copies what the postinstall (Prisma generate) needs before npm ci', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const postinstall = /tsx\s+(\S+\.ts)/.exec(pkg.scripts.postinstall ?? '')?.[1];
    expect(postinstall).toBeDefined();
    const prismaDirs = SERVICES.map((service) => path.join('prisma', service));
    const needed = new Set<string>(['package.json', 'package-lock.json']);
    importClosure(postinstall as string).forEach((file) => needed.add(file));
    for (const dir of prismaDirs) {
      needed.add(path.join(dir, 'schema.prisma'));
      importClosure(path.join(dir, 'prisma.config.ts')).forEach((file) => needed.add(file));
    }
    for (const file of readdirSync(path.join(ROOT, path.dirname(postinstall as string)))) {
      needed.add(path.join(path.dirname(postinstall as string), file)); // e.g. no-schema-engine.sh
    }
    const npmCi = instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(npmCi).toBeGreaterThan(0);
    const copied = instructions
      .slice(0, npmCi)
      .filter((i) => i.op === 'COPY' && !/--from/.test(i.args))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      )
      .map((source) => path.normalize(source));
    const missing = [...needed].filter(
      (file) => !copied.some((source) => source === '.' || file === source || file.startsWith(`${source}/`)),
    );
    expect({ 'not copied before npm ci': missing }).toEqual({ 'not copied before npm ci': [] });
  });

  test('gives the processes only variables the code reads, and its default command is an entry point', () => {
    const problems: string[] = [];
    // The runtime stage's environment is what our processes get (earlier stages' only reaches npm ci).
    for (const instruction of finalStage.filter((i) => i.op === 'ENV')) {
      for (const [variable] of envOfInstruction(instruction.args)) {
        if (!CONFIG_VARIABLES.has(variable) && !(variable in EXTRA_VARIABLES)) {
          problems.push(
            `ENV ${variable} is not a key of a schema in shared/config.ts nor in EXTRA_VARIABLES`,
          );
        }
      }
    }
    const bundle = finalStage
      .filter((i) => i.op === 'ENV')
      .flatMap((i) => envOfInstruction(i.args))
      .find(([variable]) => variable === 'WORKFLOW_BUNDLE_PATH')?.[1];
    if (bundle) {
      const writes = instructions.some(
        (i) =>
          i.op === 'RUN' && i.args.includes('bundleWorkflowCode') && i.args.includes(path.basename(bundle)),
      );
      const workflows = /require\.resolve\('\.\/([^']+)'\)/.exec(
        instructions.find((i) => i.args.includes('bundleWorkflowCode'))?.args ?? '',
      )?.[1];
      if (!writes)
        problems.push(`WORKFLOW_BUNDLE_PATH=${bundle}, but no RUN writes ${path.basename(bundle)}`);
      const bundleRun = instructions.find((i) => i.args.includes('bundleWorkflowCode'))?.args ?? '';
      for (const module of WORKFLOW_INTERCEPTOR_MODULES) {
        const relative = path.relative(ROOT, module).replace(/\.[cm]?[jt]s$/, '');
        if (!bundleRun.includes(relative))
          problems.push(`the workflow bundle leaves out the workflow interceptors ${relative}`);
      }
      if (!workflows || !existsSync(path.join(ROOT, workflows)))
        problems.push(`the bundled workflows ${workflows} do not exist`);
    }
    const cmd = JSON.parse(finalStage.filter((i) => i.op === 'CMD').pop()?.args ?? '[]') as string[];
    const entry = entryPoint(cmd);
    if (!entry.file || !ENTRY_POINTS[entry.file] || !entry.viaTsx) {
      problems.push(`CMD ${JSON.stringify(cmd)} does not run an entry point through tsx`);
    }
    expect(problems).toEqual([]);
  });

  test('.dockerignore keeps out host installs, generated clients and local state, and nothing the build needs', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    const ignored = ignoreMatcher(patterns);
    const generated = SERVICES.map((service) => {
      const output =
        /output\s*=\s*"([^"]+)"/.exec(read(path.join('prisma', service, 'schema.prisma')))?.[1] ?? '';
      return path.join('prisma', service, output, 'client.ts');
    });
    const mustIgnore = [
      'node_modules/x/index.js',
      '.git/HEAD',
      '.data/x',
      'test-output/x',
      'dist/x',
      ...generated,
    ];
    const entryFiles = Object.keys(ENTRY_POINTS).flatMap((file) => [...importClosure(file)]);
    const mustKeep = [
      ...new Set([
        'package.json',
        'package-lock.json',
        ...entryFiles,
        ...SERVICES.flatMap((service) => [`prisma/${service}/schema.prisma`, `prisma/${service}/migrations`]),
        'workflows/index.ts',
      ]),
    ];
    expect({
      'should be ignored': mustIgnore.filter((file) => !ignored(file)),
      'must not be ignored': mustKeep.filter((file) => ignored(file)),
    }).toEqual({ 'should be ignored': [], 'must not be ignored': [] });
  });
});

/**
 * The compose file stays the production description of the Temporal stack: the cluster mode
 * (TEMPORAL_MODE=cluster, scripts/temporal/cluster.ts) runs the same server the way compose does, as
 * separate processes on this machine. If one of them changes, this fails until the other follows.
 */
describe(`${COMPOSE_FILE} and the cluster mode (TEMPORAL_MODE=cluster)`, () => {
  const [temporalName, temporal] = byImage('temporalio/server')[0] ?? [];
  const localDefaults = {
    TEMPORAL_ADDRESS: TEMPORAL_DEFAULTS.TEMPORAL_ADDRESS,
    TEMPORAL_UI_PORT: localStackConfigSchema.shape.TEMPORAL_UI_PORT.parse(undefined),
    TEMPORAL_CLUSTER_BASE_PORT: localStackConfigSchema.shape.TEMPORAL_CLUSTER_BASE_PORT.parse(undefined),
  };

  test('run the same Temporal services, and the same server and Web UI versions', () => {
    const clusterServices = new Set(
      clusterNodes(clusterPortsFrom(7233, 8233, 7300)).map((node) => node.service),
    );
    expect([...clusterServices].sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    // temporalio/server runs the services of SERVICES, all four when it is not set.
    const composeServices = environment(temporal).SERVICES?.split(/[,:]/) ?? [
      'history',
      'matching',
      'frontend',
      'worker',
    ];
    expect({ [`${temporalName} services`]: [...new Set(composeServices)].sort() }).toEqual({
      [`${temporalName} services`]: [...clusterServices].sort(),
    });
    const problems: string[] = [];
    const server = imageTag(temporal?.image).tag;
    if (server !== TEMPORAL_SERVER_VERSION.slice(1))
      problems.push(`temporalio/server:${server}, the cluster mode builds ${TEMPORAL_SERVER_VERSION}`);
    for (const [name, service] of byImage('temporalio/admin-tools')) {
      const { tag } = imageTag(service.image);
      if (!tag.startsWith(`${TEMPORAL_SERVER_VERSION.slice(1)}-`))
        problems.push(`${name}: temporalio/admin-tools:${tag} is not for ${TEMPORAL_SERVER_VERSION}`);
    }
    for (const [name, service] of byImage('temporalio/ui')) {
      const { tag } = imageTag(service.image);
      if (tag !== TEMPORAL_UI_SERVER_VERSION.slice(1))
        problems.push(`${name}: temporalio/ui:${tag}, the cluster mode builds ${TEMPORAL_UI_SERVER_VERSION}`);
    }
    expect(problems).toEqual([]);
  });

  test('the ports that correspond: the frontend on 7233, the Web UI on 8233', () => {
    const frontendPort = new URL(`grpc://${localDefaults.TEMPORAL_ADDRESS}`).port;
    const ports = clusterPortsFrom(
      Number(frontendPort),
      localDefaults.TEMPORAL_UI_PORT,
      localDefaults.TEMPORAL_CLUSTER_BASE_PORT,
    );
    // The frontend is not published (only the API and the Web UI are); the processes reach it on 7233.
    expect(publishedPorts(temporal)).toEqual([]);
    const addresses = Object.entries(services).flatMap(([name, service]) => {
      const address = (service.environment as Record<string, unknown> | undefined)?.TEMPORAL_ADDRESS;
      return typeof address === 'string' ? [[name, new URL(`grpc://${address}`).port]] : [];
    });
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses).toEqual(addresses.map(([name]) => [name, String(ports.frontend.grpc)]));
    const [, ui] = byImage('temporalio/ui')[0] ?? [];
    expect(publishedPorts(ui).map((p) => p.host)).toContain(String(ports.ui));
  });

  test('the same schema steps, setup-schema then update-schema, for temporal and visibility', () => {
    const [schemaName, schema] =
      Object.entries(services).find(([, s]) => commandOf(s).join(' ').includes('temporal-sql-tool')) ?? [];
    expect(schemaName).toBeDefined();
    // `sql --db <database> <step...>` lines, with the tool's aliases and schema locations made comparable.
    const normalise = (database: string, step: string[]) => {
      const [verb, ...rest] = step;
      const args = rest.join(' ');
      const schemaDir = /postgresql\/v12\/(temporal|visibility)/.exec(args)?.[0];
      return [
        database,
        verb === 'create' ? 'create-database' : verb,
        ...(verb === 'setup-schema' ? rest : []),
        ...(verb === 'update-schema' ? [schemaDir ?? args] : []),
      ].join(' ');
    };
    const composeSteps = commandOf(schema!)
      .join('\n')
      .split('\n')
      .map((line) => /^\s*sql --db (\S+) (.+)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => normalise(m[1]!, m[2]!.trim().split(/\s+/)));
    const databases = temporalDatabases('');
    const clusterSteps = (['temporal', 'visibility'] as const).flatMap((kind) =>
      schemaSteps(kind).map((step) =>
        normalise(kind === 'temporal' ? databases.main : databases.visibility, step),
      ),
    );
    expect(composeSteps).toEqual(clusterSteps);
    expect(clusterSteps.filter((s) => s.includes('setup-schema'))).toHaveLength(2);
    expect(clusterSteps.filter((s) => s.includes('update-schema'))).toHaveLength(2);
  });

  test('the same dispatch settings in the dynamic config (scripts/temporal/dispatch-config.ts)', () => {
    // The server reads DYNAMIC_CONFIG_FILE_PATH (relative to its /etc/temporal); it must be a file we mount.
    const target = path.posix.join('/etc/temporal', environment(temporal).DYNAMIC_CONFIG_FILE_PATH ?? '');
    const mount = (temporal?.volumes ?? [])
      .map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target]))
      .find(([, to]) => to === target);
    expect({ [`${temporalName} mounts its dynamic config at ${target}`]: mount !== undefined }).toEqual({
      [`${temporalName} mounts its dynamic config at ${target}`]: true,
    });
    const composeConfig = parse(read(mount![0]!)) as Record<string, unknown>;
    const ports = clusterPortsFrom(7233, 8233, 7300);
    const clusterConfig = dynamicConfig({
      ip: '127.0.0.1',
      postgres: { host: '127.0.0.1', port: 5432, user: 'postgres', password: '' },
      databases: temporalDatabases(''),
      ports,
      dynamicConfigFile: '/unused',
      logLevel: 'warn',
    });
    const asConstraintFree = (values: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(values).map(([key, value]) => [key, [{ value, constraints: {} }]]));
    // Every dispatch setting in both, with the same value; nothing in compose that the cluster mode lacks.
    expect(composeConfig).toEqual(asConstraintFree(DISPATCH_DYNAMIC_CONFIG));
    for (const key of Object.keys(composeConfig)) expect(clusterConfig[key]).toEqual(composeConfig[key]);
  });

  test('the same namespace, retention and search attributes', () => {
    const [, setup] =
      Object.entries(services).find(([, s]) => commandOf(s).join(' ').includes('search-attribute create')) ??
      [];
    const script = commandOf(setup!).join('\n');
    expect(environment(setup).TEMPORAL_NAMESPACE).toBe(CLUSTER_NAMESPACE);
    expect(/namespace create --retention (\w+)/.exec(script)?.[1]).toBe(NAMESPACE_RETENTION);
    // The cluster mode registers SEARCH_ATTRIBUTES (scripts/temporal/cluster.ts registerNamespace).
    const registered = Object.fromEntries(
      [...script.matchAll(/search-attribute create\s+--name\s+(\w+)\s+--type\s+(\w+)/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    expect(registered).toEqual(SEARCH_ATTRIBUTES);
    expect(read('scripts/temporal/cluster.ts')).toMatch(/missingSearchAttributes\(connection, namespace\)/);
  });
});
