import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  DATABASE_URL_VARS,
  SERVICES,
  apiConfigSchema,
  databaseConfigSchema,
  sagaConfigSchema,
  temporalConfigSchema,
  workerConfigSchema,
} from '../../shared/config';
import { SEARCH_ATTRIBUTES } from '../../shared/search-attributes';

/**
 * docker-compose.temporal.yml cannot run here (no Docker engine), so this keeps it from rotting: every
 * service, entry point, port, dependency and variable it names must exist in the code.
 */
const ROOT = path.resolve(__dirname, '../..');
interface ComposeService {
  build?: { context: string; dockerfile: string };
  command?: string[] | string;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string | number>;
  ports?: string[];
}
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.temporal.yml'), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
const ours = Object.entries(services).filter(([, s]) => s.build);
const KNOWN_VARIABLES = new Set([
  ...Object.keys(temporalConfigSchema.shape),
  ...Object.keys(databaseConfigSchema.shape),
  ...Object.keys(sagaConfigSchema.shape),
  ...Object.keys(workerConfigSchema.shape),
  ...Object.keys(apiConfigSchema.shape),
]);
const KINDS = ['orchestrator', ...SERVICES];

describe('docker-compose.temporal.yml', () => {
  test('has the whole stack', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'temporal',
        'temporal-ui',
        'temporal-search-attributes',
        'migrate',
        'api',
        'orchestrator',
      ]),
    );
    for (const kind of SERVICES) expect(services[`${kind}-worker`]).toBeDefined();
  });

  test('every dependency names a service of the file', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(`${name} -> ${dependency}: ${dependency in services}`).toBe(`${name} -> ${dependency}: true`);
      }
    }
  });

  test('our services build from the repository Dockerfile and run entry points that exist', () => {
    expect(existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
    for (const [name, service] of ours) {
      expect(service.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      const command = service.command as string[];
      const entry = command.find((part) => part.endsWith('.ts')) as string;
      expect(`${name}: ${entry} exists=${existsSync(path.join(ROOT, entry))}`).toBe(
        `${name}: ${entry} exists=true`,
      );
      if (entry === 'worker/main.ts') expect(KINDS).toContain(command[command.indexOf(entry) + 1]);
    }
  });

  test('every variable given to our services is one the code reads', () => {
    for (const [name, service] of ours) {
      for (const variable of Object.keys(service.environment ?? {})) {
        expect(`${name}: ${variable} known=${KNOWN_VARIABLES.has(variable)}`).toBe(
          `${name}: ${variable} known=true`,
        );
      }
    }
  });

  test('each service worker gets its own database URL and no other', () => {
    for (const kind of SERVICES) {
      const variables = Object.keys(services[`${kind}-worker`]?.environment ?? {}).filter((v) =>
        v.endsWith('_DATABASE_URL'),
      );
      expect(variables).toEqual([DATABASE_URL_VARS[kind]]);
    }
    expect(
      Object.keys(services.orchestrator?.environment ?? {}).filter((v) => v.endsWith('_DATABASE_URL')),
    ).toEqual([]);
    expect(Object.keys(services.api?.environment ?? {}).filter((v) => v.endsWith('_DATABASE_URL'))).toEqual(
      [],
    );
  });

  test('ports: the API publishes its API_PORT, the Web UI is on 8233', () => {
    const api = services.api as ComposeService;
    expect(api.ports).toEqual([`${api.environment?.API_PORT}:${api.environment?.API_PORT}`]);
    expect(api.environment?.API_HOST).toBe('0.0.0.0');
    expect(services['temporal-ui']?.ports).toEqual(['8233:8080']);
    expect(String(api.environment?.TEMPORAL_ADDRESS)).toBe(
      `temporal:${services.temporal?.ports?.[0]?.split(':')[1]}`,
    );
  });

  test('registers exactly the custom search attributes the workflow sets', () => {
    const script = (services['temporal-search-attributes']?.command as string[]).join(' ');
    const names = /for name in ([\w ]+); do/.exec(script)?.[1]?.trim().split(/\s+/);
    expect(names?.sort()).toEqual(Object.keys(SEARCH_ATTRIBUTES).sort());
    expect(script).toContain('--type Keyword');
    expect(new Set(Object.values(SEARCH_ATTRIBUTES))).toEqual(new Set(['Keyword']));
  });

  test('the services database init creates the databases the URLs name', () => {
    const init = readFileSync(path.join(ROOT, 'docker/services-init.sql'), 'utf8');
    for (const kind of SERVICES) {
      const url = String(services[`${kind}-worker`]?.environment?.[DATABASE_URL_VARS[kind]]);
      expect(init).toContain(`CREATE DATABASE ${new URL(url).pathname.slice(1)};`);
      expect(services.migrate?.environment?.[DATABASE_URL_VARS[kind]]).toBe(url);
    }
  });
});
