import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEMPORAL_CLI_VERSION } from '../../scripts/temporal/provision';

const ROOT = path.resolve(__dirname, '../..');

/** resolveTemporalCli in a process of its own, with only `env` (as a user's shell would give it). */
function resolveIn(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = [
    "const { resolveTemporalCli } = require('./scripts/temporal/provision');",
    'resolveTemporalCli({ log: (line) => console.log(`log: ${line}`) }).then(',
    '  (cli) => console.log(`cli: ${cli}`),',
    '  (error) => { console.error(`${error.name}: ${error.message}`); process.exitCode = 1; },',
    ');',
  ].join('\n');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '-e', script],
      { cwd: ROOT, env, timeout: 300_000 },
      (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
    );
  });
}

/**
 * Where the CLI comes from on a machine that has none: not on PATH, nothing cached, and no Go. Each way
 * is tried in turn (PATH, the cache, the SDK's download, a Go build) and one line says why each failed.
 * Offline, as on this project's CI machine, the download fails; with internet it succeeds instead.
 */
describe('finding the Temporal CLI', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'saga-cli-'));
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync('/bin/sh', path.join(bin, 'sh')); // `command -v` needs a shell; no temporal, no go
    env = { PATH: bin, HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache') };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('without a CLI or Go: PATH, cache, SDK download and Go build each tried, each failure named', async () => {
    const online = await lookup('temporal.download').then(
      () => true,
      () => false,
    );
    const { code, stdout, stderr } = await resolveIn(env);
    expect(stdout).toMatch(
      new RegExp(`log: downloading Temporal CLI ${TEMPORAL_CLI_VERSION} with the Temporal SDK`),
    );
    if (online) {
      expect(code).toBe(0);
      expect(stdout).toContain(`cli: ${path.join(dir, 'cache', 'saga')}`);
      return;
    }
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /log: the SDK could not download the Temporal CLI \(.+\); building it with Go instead/,
    );
    const message = stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(
      /^TemporalCliError: Temporal CLI v[\d.]+ not found: not at TEMPORAL_CLI_PATH \(unset\), not on PATH, /,
    );
    expect(message).toContain(`not cached in ${path.join(dir, 'cache', 'saga')}`);
    expect(message).toMatch(/download failed: .*temporal\.download/);
    expect(message).toMatch(/build failed: Temporal CLI not found and Go is not installed to build it/);
  }, 300_000);

  test('a TEMPORAL_CLI_PATH that is not executable is refused, naming it', async () => {
    const { code, stderr } = await resolveIn({ ...env, TEMPORAL_CLI_PATH: path.join(dir, 'nope') });
    expect(code).toBe(1);
    expect(stderr).toMatch(/TEMPORAL_CLI_PATH=.*nope is not an executable file/);
  }, 60_000);
});
