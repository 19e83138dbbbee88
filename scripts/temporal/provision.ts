import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * Finds the Temporal CLI (which embeds the dev server and Web UI) the way a user expects: TEMPORAL_CLI_PATH,
 * then PATH, then the cached binary, then the SDK's own download of the CLI (what @temporalio/testing
 * does), then a build from its Go module; whatever is fetched or built is cached outside the clone, once
 * per machine. Offline (as on the project's CI machine) the download fails fast and Go builds it.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export class TemporalCliError extends Error {
  override name = 'TemporalCliError';
}

/** Where the project keeps what it builds once per machine, outside the clone. */
export function sagaCacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'saga');
}

export function cacheDir(): string {
  return path.join(sagaCacheRoot(), `temporal-${TEMPORAL_CLI_VERSION.slice(1)}`);
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' }).stdout.trim();
  if (!found) return undefined;
  const version = spawnSync(found, ['--version'], { encoding: 'utf8' });
  return version.status === 0 && /temporal version/i.test(version.stdout) ? found : undefined;
}

export async function resolveTemporalCli(options: { log?: (line: string) => void } = {}): Promise<string> {
  const log = options.log ?? (() => undefined);
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!isExecutable(explicit))
      throw new TemporalCliError(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  const fromPath = onPath();
  if (fromPath) return fromPath;
  const cached = path.join(cacheDir(), 'temporal');
  if (isExecutable(cached)) return cached;
  const downloaded = path.join(cacheDir(), `temporal-${TEMPORAL_CLI_VERSION}`);
  if (isExecutable(downloaded)) return downloaded;
  let downloadFailure: string;
  try {
    log(`downloading Temporal CLI ${TEMPORAL_CLI_VERSION} with the Temporal SDK...`);
    await sdkDownload(downloaded);
    return downloaded;
  } catch (error) {
    downloadFailure = oneLine(error);
    log(`the SDK could not download the Temporal CLI (${downloadFailure}); building it with Go instead`);
  }
  try {
    await buildCli(cached, log);
  } catch (error) {
    throw new TemporalCliError(
      `Temporal CLI ${TEMPORAL_CLI_VERSION} not found: not at TEMPORAL_CLI_PATH (unset), not on PATH, ` +
        `not cached in ${cacheDir()}; download failed: ${downloadFailure}; build failed: ${oneLine(error)}`,
    );
  }
  return cached;
}

const oneLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();

/**
 * The SDK's cached download, as TestWorkflowEnvironment.createLocal() does it: it fetches the CLI into
 * `target`'s folder (named temporal-<version>) and starts a dev server from it, which is stopped at once.
 */
async function sdkDownload(target: string): Promise<void> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const environment = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: {
        type: 'cached-download',
        downloadDir: path.dirname(target),
        version: TEMPORAL_CLI_VERSION,
      },
    },
  });
  await environment.teardown();
  if (!isExecutable(target)) throw new TemporalCliError(`the SDK downloaded no executable at ${target}`);
}

async function buildCli(target: string, log: (line: string) => void): Promise<void> {
  await goInstallWithLock({
    what: `Temporal CLI ${TEMPORAL_CLI_VERSION}`,
    packages: [`github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`],
    binaries: { temporal: target },
    missingGo:
      'Temporal CLI not found and Go is not installed to build it (set TEMPORAL_CLI_PATH or install Go)',
    log,
  });
}

export interface GoInstall {
  /** What is built, for the log lines and errors ("Temporal CLI v1.5.1"). */
  what: string;
  /** `go install` arguments, `module/path/cmd/x@version`; all of one module. */
  packages: string[];
  /** The name `go install` gives each binary, and where it is kept; all in one cache folder. */
  binaries: Record<string, string>;
  /** The error when Go is not there to build them. */
  missingGo: string;
  log: (line: string) => void;
  /** Runs with the lock held before building, e.g. to check versions; throws to refuse. */
  beforeBuild?: () => Promise<void>;
}

/** Whether every binary of the install is there already. */
export function installed(binaries: Record<string, string>): boolean {
  return Object.values(binaries).every(isExecutable);
}

/**
 * Builds binaries with `go install` into their cache folder unless they are all there. Several Jest
 * processes or terminals may ask at once: one builds, the others wait for its binaries. The binaries are
 * built in a staging folder and moved in place only once all built, so a killed build leaves none.
 */
export async function goInstallWithLock(install: GoInstall): Promise<void> {
  const { binaries, log } = install;
  const targets = Object.values(binaries);
  const dir = path.dirname(targets[0]!);
  mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, '.build.lock');
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (installed(binaries)) return;
      // A lock older than the longest build is left over from a killed build.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 20 * 60_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new TemporalCliError(`timed out waiting for another build of the ${install.what} (${lock})`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  try {
    if (installed(binaries)) return;
    if (spawnSync('go', ['version']).status !== 0) throw new TemporalCliError(install.missingGo);
    await install.beforeBuild?.();
    log(`building ${install.what} once for this machine (takes a few minutes)...`);
    const staging = mkdtempSync(path.join(dir, 'build-'));
    const logFile = path.join(dir, 'build.log');
    const code = await new Promise<number | null>((resolve) => {
      const out = createWriteStream(logFile);
      const child = spawn('go', ['install', ...install.packages], {
        env: { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.pipe(out);
      child.stderr.pipe(out);
      child.once('error', () => resolve(-1));
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    const built = Object.keys(binaries).map((name) => path.join(staging, name));
    if (code !== 0 || !built.every((file) => existsSync(file))) {
      rmSync(staging, { recursive: true, force: true });
      throw new TemporalCliError(`${install.what} could not be built: go install failed (see ${logFile})`);
    }
    for (const [name, target] of Object.entries(binaries)) renameSync(path.join(staging, name), target);
    rmSync(staging, { recursive: true, force: true });
    log(`built ${targets.join(', ')}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
