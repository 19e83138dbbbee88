import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { aptFailureReason } from '../lib/apt';
import { isExecutable, sagaCacheRoot } from '../temporal/provision';

/**
 * Makes sure a Prometheus and its promtool are available to the alerting tests and scripts: Debian's
 * `prometheus` package, downloaded with `apt-get download` (no root needed) and unpacked with `dpkg-deb -x`
 * into ~/.cache/saga/prometheus, never installed system-wide (the package would start a service).
 * Both binaries are static Go programs, so the package's web-asset dependencies are not needed.
 * `tsx scripts/prometheus/ensure-prometheus.ts` prints nothing when it is already there.
 */
export class PrometheusError extends Error {
  override name = 'PrometheusError';
}

export interface PrometheusBinaries {
  prometheus: string;
  promtool: string;
  /** The Debian package version unpacked, e.g. 2.42.0+ds-5+deb12u1. */
  version: string;
}

export function prometheusCacheDir(): string {
  return path.join(sagaCacheRoot(), 'prometheus');
}

/** The cached binaries, or undefined (never downloads). */
export function findPrometheus(): PrometheusBinaries | undefined {
  const dir = prometheusCacheDir();
  const prometheus = path.join(dir, 'usr/bin/prometheus');
  const promtool = path.join(dir, 'usr/bin/promtool');
  if (!isExecutable(prometheus) || !isExecutable(promtool)) return undefined;
  const version = existsSync(path.join(dir, 'VERSION'))
    ? readFileSync(path.join(dir, 'VERSION'), 'utf8').trim()
    : 'unknown';
  return { prometheus, promtool, version };
}

export interface EnsurePrometheusOptions {
  /** Progress lines (nothing is logged when Prometheus is already cached). */
  log?: (line: string) => void;
}

export function ensurePrometheus(options: EnsurePrometheusOptions = {}): PrometheusBinaries {
  const log = options.log ?? (() => undefined);
  const found = findPrometheus();
  if (found) return found;

  const dir = prometheusCacheDir();
  mkdirSync(path.dirname(dir), { recursive: true });
  // Unpacked beside the target and renamed into place: a parallel run sees all of it or nothing.
  const work = mkdtempSync(`${dir}.tmp-`);
  try {
    log("prometheus: downloading Debian's prometheus package (apt-get download)");
    let downloaded = run('apt-get', ['-q', 'download', 'prometheus'], work);
    // Stale or missing package lists (404, no candidate): refresh them once, which needs root.
    if (
      !downloaded.ok &&
      /404|Unable to fetch|Unable to locate|Can't select|no installation candidate/i.test(downloaded.output)
    ) {
      aptUpdate(log);
      downloaded = run('apt-get', ['-q', 'download', 'prometheus'], work);
    }
    if (!downloaded.ok) fail('apt-get download prometheus failed', downloaded.output);
    const deb = readdirSync(work).find((file) => /^prometheus_.*\.deb$/.test(file));
    if (!deb) fail('apt-get download prometheus wrote no .deb', downloaded.output);
    const version = decodeURIComponent(deb.replace(/^prometheus_/, '').replace(/_[^_]+\.deb$/, ''));
    const tree = path.join(work, 'tree');
    const unpacked = run('dpkg-deb', ['-x', path.join(work, deb), tree]);
    if (!unpacked.ok) fail(`dpkg-deb -x ${deb} failed`, unpacked.output);
    writeFileSync(path.join(tree, 'VERSION'), `${version}\n`);
    try {
      renameSync(tree, dir);
    } catch (error) {
      // Another run put it in place first: keep theirs.
      if (!findPrometheus()) throw error;
    }
    const binaries = findPrometheus();
    if (!binaries)
      throw new PrometheusError(`unpacked ${deb} but ${dir}/usr/bin has no prometheus and promtool`);
    log(`prometheus: ${binaries.version} in ${dir}`);
    return binaries;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function aptUpdate(log: (line: string) => void): void {
  log('prometheus: apt-get update');
  const args = ['apt-get', '-o', 'DPkg::Lock::Timeout=300', '-q', 'update'];
  const updated = process.getuid?.() === 0 ? run('apt-get', args.slice(1)) : run('sudo', ['-n', ...args]);
  if (!updated.ok) fail('apt-get update failed (run it as root, then retry)', updated.output);
}

function run(command: string, args: string[], cwd?: string) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}${result.error ? `\n${result.error.message}` : ''}`;
  return { ok: result.status === 0, output, stdout: result.stdout ?? '' };
}

/** One line: what failed and why (scripts/lib/apt.ts). */
function fail(what: string, output: string): never {
  throw new PrometheusError(`${what}: ${aptFailureReason(output)}`);
}

if (require.main === module) {
  try {
    ensurePrometheus({ log: (line) => console.error(line) });
  } catch (error) {
    console.error(`ensure-prometheus failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
