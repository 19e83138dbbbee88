import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { aptFailureReason } from '../lib/apt';

/**
 * Makes sure a Chromium the Web UI tests can drive (through playwright-core) is installed: Debian's
 * `chromium` package, since Playwright's own browser download cannot work here. Installs it with apt when
 * it is missing (as root, or through `sudo -n`). `tsx scripts/browser/ensure-chromium.ts` prints nothing
 * when Chromium is already there.
 */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export class ChromiumError extends Error {
  override name = 'ChromiumError';
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** CHROMIUM_PATH if set, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
}

/** The path of an executable Chromium, or undefined (never installs). */
export function findChromium(): string | undefined {
  const file = chromiumPath();
  return isExecutable(file) ? file : undefined;
}

export interface EnsureChromiumOptions {
  /** Progress lines (nothing is logged when Chromium is already installed). */
  log?: (line: string) => void;
}

/** Returns the path of an executable Chromium, installing Debian's `chromium` package if needed. */
export function ensureChromium(options: EnsureChromiumOptions = {}): string {
  const log = options.log ?? (() => undefined);
  const found = findChromium();
  if (found) return found;
  if (process.env.CHROMIUM_PATH)
    throw new ChromiumError(
      `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable file (unset it to use Debian's chromium)`,
    );

  const prefix = privilegePrefix();
  const run = (args: string[]) => {
    const [command, ...rest] = [...prefix, ...args] as [string, ...string[]];
    const result = spawnSync(command, rest, {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
    return { ok: result.status === 0, output, error: result.error };
  };
  // Another process (a parallel test worker, an unattended upgrade) may hold the dpkg lock: wait for it.
  const aptGet = ['apt-get', '-o', 'DPkg::Lock::Timeout=300', '-q'];
  const install = () =>
    run([
      'env',
      'DEBIAN_FRONTEND=noninteractive',
      ...aptGet,
      'install',
      '-y',
      '--no-install-recommends',
      'chromium',
    ]);
  const update = () => {
    log('chromium: apt-get update');
    const updated = run(['env', 'DEBIAN_FRONTEND=noninteractive', ...aptGet, 'update']);
    if (!updated.ok) fail('apt-get update failed', updated);
  };

  // `apt-get update` only when the package lists do not know chromium (e.g. a slim image with no lists).
  if (!hasCandidate()) update();
  log(`chromium: installing Debian's chromium package (${DEFAULT_CHROMIUM_PATH} is missing)`);
  let installed = install();
  // Stale lists point at versions the mirror no longer has (404): refresh once and retry.
  if (!installed.ok && /404|Unable to fetch|Unable to locate|--fix-missing/i.test(installed.output)) {
    update();
    installed = install();
  }
  if (!installed.ok) fail('apt-get install chromium failed', installed);
  if (!isExecutable(DEFAULT_CHROMIUM_PATH))
    throw new ChromiumError(`apt-get installed chromium but ${DEFAULT_CHROMIUM_PATH} is not executable`);
  log(`chromium: installed ${version(DEFAULT_CHROMIUM_PATH)}`);
  return DEFAULT_CHROMIUM_PATH;
}

/** [] as root, ['sudo', '-n'] otherwise; throws when neither can install packages. */
function privilegePrefix(): string[] {
  if (process.getuid?.() === 0) return [];
  const sudo = spawnSync('sh', ['-c', 'command -v sudo'], { encoding: 'utf8' }).stdout.trim();
  if (!sudo)
    throw new ChromiumError(
      `chromium is missing (${DEFAULT_CHROMIUM_PATH}) and cannot be installed: not root and no sudo; ` +
        'run as root: apt-get install -y --no-install-recommends chromium',
    );
  return [sudo, '-n'];
}

function hasCandidate(): boolean {
  const policy = spawnSync('apt-cache', ['policy', 'chromium'], { encoding: 'utf8' });
  if (policy.error)
    throw new ChromiumError(`chromium is missing and apt is not available: ${policy.error.message}`);
  const candidate = /Candidate:\s*(\S+)/.exec(policy.stdout)?.[1];
  return Boolean(candidate && candidate !== '(none)');
}

function version(file: string): string {
  const result = spawnSync(file, ['--version'], { encoding: 'utf8' });
  return result.stdout?.trim() || file;
}

/** One line: what failed and why (scripts/lib/apt.ts). */
function fail(what: string, result: { output: string; error?: Error | undefined }): never {
  throw new ChromiumError(`${what}: ${aptFailureReason(result.output, result.error)}`);
}

if (require.main === module) {
  try {
    ensureChromium({ log: (line) => console.error(line) });
  } catch (error) {
    console.error(`ensure-chromium failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
