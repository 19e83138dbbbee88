import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, hostname } from 'node:os';
import path from 'node:path';

/**
 * Finds the Temporal CLI (which embeds the dev server and the Web UI), building it from its Go module
 * when it is missing: once per machine, cached outside the clone. The SDK's own download cannot work
 * here (only the npm registry and the Go module proxy are reachable).
 */

/** The newest release `go install pkg@version` accepts (later ones add a `replace` to their go.mod). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

const BUILD_TIMEOUT_MS = 45 * 60_000;
const LOCK_POLL_MS = 1000;
/** A lock whose owner file never appeared was left by a process killed between mkdir and write. */
const OWNERLESS_LOCK_STALE_MS = 60_000;

export class TemporalCliError extends Error {
  override name = 'TemporalCliError';
}

export interface ResolveOptions {
  log?: (line: string) => void;
  /** Where TEMPORAL_CLI_PATH, PATH, XDG_CACHE_HOME and HOME are read from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), '.cache');
  return path.join(base, 'saga', `temporal-${TEMPORAL_CLI_VERSION.slice(1)}`);
}

export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'temporal');
}

/** In order: TEMPORAL_CLI_PATH, `temporal` on PATH, the cached build, else a new build into the cache. */
export async function resolveTemporalCli(options: ResolveOptions = {}): Promise<string> {
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    const file = path.resolve(explicit);
    if (!isExecutableFile(file)) {
      throw new TemporalCliError(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    }
    const problem = versionProblem(file, env);
    if (problem)
      throw new TemporalCliError(`TEMPORAL_CLI_PATH=${explicit} is not the Temporal CLI: ${problem}`);
    return file;
  }

  // Something else named `temporal` may be on PATH: then the cache is next.
  const fromPath = findOnPath('temporal', env);
  if (fromPath && !versionProblem(fromPath, env)) return fromPath;

  const cached = cachedCliPath(env);
  if (isExecutableFile(cached)) return cached;
  await buildOnce(cached, env, log);
  return cached;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Why `file --version` does not look like the Temporal CLI, or undefined when it does. */
function versionProblem(file: string, env: NodeJS.ProcessEnv): string | undefined {
  const result = spawnSync(file, ['--version'], { env, encoding: 'utf8', timeout: 15_000 });
  if (result.error) return `--version failed (${result.error.message})`;
  if (result.status !== 0) return `--version exited with code ${result.status}`;
  // Builds from the Go module report "0.0.0-DEV" as their version, so only the shape is checked.
  if (!/^temporal version /m.test(result.stdout)) {
    return `unexpected --version output "${(result.stdout.trim().split('\n')[0] ?? '').slice(0, 120)}"`;
  }
  return undefined;
}

/**
 * Builds the CLI unless another process is already doing so (several Jest processes or terminals may
 * ask at once), in which case it waits for that build. The lock only saves work: each build goes to its
 * own staging folder and is renamed into place atomically, so even two builds leave one whole binary.
 */
async function buildOnce(target: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const dir = path.dirname(target);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new TemporalCliError(
      `Temporal CLI not found and its cache folder ${dir} cannot be created: ${errorCode(error)}`,
    );
  }
  const lock = await acquireLock(path.join(dir, '.build.lock'), () => isExecutableFile(target), log);
  if (!lock) return; // another process built it while we waited
  try {
    if (isExecutableFile(target)) return;
    removeLeftoverStaging(dir);
    await build(target, env, log);
  } finally {
    lock.release();
  }
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

/** Resolves with a held lock, or with undefined once `done()` says the build is no longer needed. */
async function acquireLock(
  lockDir: string,
  done: () => boolean,
  log: (line: string) => void,
): Promise<{ release(): void } | undefined> {
  const ownerFile = path.join(lockDir, 'owner.json');
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      const me: LockOwner = { pid: process.pid, host: hostname(), token: `${process.pid}-${Date.now()}` };
      writeFileSync(ownerFile, JSON.stringify(me));
      return {
        release() {
          // Only our own lock: a waiter that judged it stale may have handed it to another process.
          if (readOwner(ownerFile)?.token === me.token) rmSync(lockDir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') {
        throw new TemporalCliError(`cannot create the build lock ${lockDir}: ${errorCode(error)}`);
      }
    }
    if (done()) return undefined;
    const owner = readOwner(ownerFile);
    if (isStale(lockDir, owner)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log(`waiting for another build of the Temporal CLI${owner ? ` (pid ${owner.pid})` : ''} to finish...`);
      announced = true;
    }
    if (Date.now() > deadline) {
      throw new TemporalCliError(`timed out waiting for another build of the Temporal CLI (lock ${lockDir})`);
    }
    await sleep(LOCK_POLL_MS);
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

function isStale(lockDir: string, owner: LockOwner | undefined): boolean {
  if (owner && owner.host === hostname()) return !isAlive(owner.pid);
  const modified = statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs;
  if (modified === undefined) return false; // just released: the next mkdir decides
  // Another host (a shared home folder): its pid means nothing here, so only age tells.
  return Date.now() - modified > (owner ? BUILD_TIMEOUT_MS : OWNERLESS_LOCK_STALE_MS);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/** Staging folders of builds that were killed. */
function removeLeftoverStaging(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.staging-')) rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

async function build(target: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const fail = (cause: string) =>
    new TemporalCliError(`Temporal CLI not found and could not be built: ${cause}`);
  const go = spawnSync('go', ['version'], { env, encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw fail('go is not installed (install Go 1.25+, or set TEMPORAL_CLI_PATH to a temporal binary)');
  }

  const dir = path.dirname(target);
  const logFile = path.join(dir, 'build.log');
  const staging = mkdtempSync(path.join(dir, '.staging-'));
  log(`building Temporal CLI ${TEMPORAL_CLI_VERSION} once for this machine (takes a few minutes)...`);
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const heartbeat = setInterval(() => log(`still building the Temporal CLI (${seconds()} s)...`), 60_000);
  try {
    const out = openSync(logFile, 'w');
    const exit = await new Promise<string | undefined>((resolve) => {
      const child = spawn(
        'go',
        ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`],
        {
          env: { ...env, GOBIN: staging },
          stdio: ['ignore', out, out],
        },
      );
      child.once('error', (error) => resolve(error.message));
      child.once('exit', (code, signal) => resolve(code === 0 ? undefined : (signal ?? `exit code ${code}`)));
    });
    closeSync(out);
    if (exit) throw fail(`go install failed (${exit}: ${lastErrorLine(logFile)}; see ${logFile})`);
    const built = path.join(staging, 'temporal');
    const problem = isExecutableFile(built) ? versionProblem(built, env) : 'no binary was produced';
    if (problem) throw fail(`the built binary does not work (${problem}; see ${logFile})`);
    renameSync(built, target);
    log(`built ${target} in ${seconds()} s`);
  } finally {
    clearInterval(heartbeat);
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The line of Go's output that says what went wrong, for a one-line error. */
function lastErrorLine(logFile: string): string {
  let lines: string[];
  try {
    lines = readFileSync(logFile, 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
  } catch {
    return 'no output';
  }
  const meaningful = lines.filter((line) => !line.startsWith('go: downloading') && !line.startsWith('#'));
  const line = meaningful.at(-1) ?? lines.at(-1) ?? 'no output';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
