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
 * Finds the Temporal CLI (which embeds the dev server and Web UI), building it from its Go module when
 * it is missing: once per machine, cached outside the clone. The SDK's own download cannot work here.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export class TemporalCliError extends Error {
  override name = 'TemporalCliError';
}

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'saga', `temporal-${TEMPORAL_CLI_VERSION.slice(1)}`);
}

function isExecutable(file: string): boolean {
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
  await buildWithLock(cached, log);
  return cached;
}

/** Several Jest processes or terminals may ask at once: one builds, the others wait for its binary. */
async function buildWithLock(target: string, log: (line: string) => void): Promise<void> {
  const dir = path.dirname(target);
  mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, '.build.lock');
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (isExecutable(target)) return;
      // A lock older than the longest build is left over from a killed build.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 20 * 60_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new TemporalCliError(`timed out waiting for another build of the Temporal CLI (${lock})`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  try {
    if (isExecutable(target)) return;
    if (spawnSync('go', ['version']).status !== 0) {
      throw new TemporalCliError(
        'Temporal CLI not found and Go is not installed to build it (set TEMPORAL_CLI_PATH or install Go)',
      );
    }
    log(`building Temporal CLI ${TEMPORAL_CLI_VERSION} once for this machine (takes a few minutes)...`);
    const staging = mkdtempSync(path.join(dir, 'build-'));
    const logFile = path.join(dir, 'build.log');
    const code = await new Promise<number | null>((resolve) => {
      const out = createWriteStream(logFile);
      const child = spawn(
        'go',
        ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`],
        {
          env: { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout.pipe(out);
      child.stderr.pipe(out);
      child.once('error', () => resolve(-1));
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    const built = path.join(staging, 'temporal');
    if (code !== 0 || !existsSync(built)) {
      rmSync(staging, { recursive: true, force: true });
      throw new TemporalCliError(
        `Temporal CLI not found and could not be built: go install failed (see ${logFile})`,
      );
    }
    renameSync(built, target);
    rmSync(staging, { recursive: true, force: true });
    log(`built ${target}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
