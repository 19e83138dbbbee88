/**
 * The production Temporal server, its SQL schema tool and the Web UI server for `TEMPORAL_MODE=cluster`,
 * built from their Go modules once per machine and cached outside the clone beside the CLI (see
 * provision.ts). Their versions are those the pinned Temporal CLI embeds, so both modes run the same server.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { goInstallWithLock, sagaCacheRoot, TEMPORAL_CLI_VERSION, TemporalCliError } from './provision';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_UI_SERVER_VERSION = 'v2.42.1';
/**
 * The PostgreSQL schema versions TEMPORAL_SERVER_VERSION expects (go.temporal.io/server's
 * schema/postgresql/v12/version.go): a database at a newer version was set up by a newer server.
 */
export const TEMPORAL_SCHEMA_VERSIONS = { temporal: '1.18', visibility: '1.9' } as const;

const SERVER_MODULE = 'go.temporal.io/server';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';

export interface ClusterBinaries {
  /** `go.temporal.io/server/cmd/server`: every service, one per process with `--service`. */
  server: string;
  /** `go.temporal.io/server/cmd/tools/sql`: creates and migrates the databases (schemas compiled in). */
  sqlTool: string;
  /** `github.com/temporalio/ui-server/v2/cmd/server`: the Web UI, its assets embedded. */
  uiServer: string;
}

export function serverCacheDir(): string {
  return path.join(sagaCacheRoot(), `temporal-server-${TEMPORAL_SERVER_VERSION.slice(1)}`);
}

export function uiServerCacheDir(): string {
  return path.join(sagaCacheRoot(), `temporal-ui-server-${TEMPORAL_UI_SERVER_VERSION.slice(1)}`);
}

export function clusterBinaryPaths(): ClusterBinaries {
  return {
    server: path.join(serverCacheDir(), 'temporal-server'),
    sqlTool: path.join(serverCacheDir(), 'temporal-sql-tool'),
    uiServer: path.join(uiServerCacheDir(), 'temporal-ui-server'),
  };
}

const MISSING_GO =
  'the Temporal server for TEMPORAL_MODE=cluster is not built and Go is not installed to build it ' +
  '(install Go, or use the dev server: unset TEMPORAL_MODE)';

/** Returns the three binaries, building those that are missing (minutes the first time, nothing after). */
export async function resolveClusterBinaries(
  options: { log?: (line: string) => void } = {},
): Promise<ClusterBinaries> {
  const log = options.log ?? (() => undefined);
  const paths = clusterBinaryPaths();
  await goInstallWithLock({
    what: `Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool`,
    packages: [
      `${SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`,
      `${SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
    ],
    binaries: { server: paths.server, sql: paths.sqlTool },
    missingGo: MISSING_GO,
    beforeBuild: () => checkEmbeddedVersions(),
    log,
  });
  await goInstallWithLock({
    what: `Temporal Web UI server ${TEMPORAL_UI_SERVER_VERSION}`,
    packages: [`${UI_MODULE}/cmd/server@${TEMPORAL_UI_SERVER_VERSION}`],
    binaries: { server: paths.uiServer },
    missingGo: MISSING_GO,
    beforeBuild: () => checkEmbeddedVersions(),
    log,
  });
  return paths;
}

/** The `require` versions of a go.mod. */
export function goModRequires(goMod: string): Record<string, string> {
  const requires: Record<string, string> = {};
  for (const match of goMod.matchAll(/^\s*(?:require\s+)?([\w.\-/]+)\s+(v[\w.\-+]+)(?:\s*\/\/.*)?$/gm))
    requires[match[1]!] = match[2]!;
  return requires;
}

/**
 * Refuses to build a server other than the one in the dev server of our CLI: the two modes would
 * disagree, and the tests would pass against a server that `npm start` does not run. Bumping the CLI
 * means moving these constants too (the error says to what).
 */
async function checkEmbeddedVersions(): Promise<void> {
  const download = spawnSync(
    'go',
    ['mod', 'download', '-json', `github.com/temporalio/cli@${TEMPORAL_CLI_VERSION}`],
    { encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } },
  );
  const goModFile = download.status === 0 ? (JSON.parse(download.stdout) as { GoMod?: string }).GoMod : '';
  if (!goModFile) {
    throw new TemporalCliError(
      `could not read the go.mod of the Temporal CLI ${TEMPORAL_CLI_VERSION} to check the server version ` +
        `(go mod download: ${(download.stderr || download.stdout).trim().split('\n').pop() ?? ''})`,
    );
  }
  const requires = goModRequires(readFileSync(goModFile, 'utf8'));
  for (const [module, pinned] of [
    [SERVER_MODULE, TEMPORAL_SERVER_VERSION],
    [UI_MODULE, TEMPORAL_UI_SERVER_VERSION],
  ] as const) {
    if (requires[module] !== pinned) {
      throw new TemporalCliError(
        `the Temporal CLI ${TEMPORAL_CLI_VERSION} embeds ${module} ${requires[module] ?? '(none)'}, ` +
          `but scripts/temporal/server-build.ts pins ${pinned}: move the pin to it`,
      );
    }
  }
}
