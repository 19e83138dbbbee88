import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, portInUse } from '../../scripts/lib/ports';
import { testClient } from '../support/api';
import { sampleOrder } from '../support/orders';

const ROOT = path.resolve(__dirname, '../..');
const API_KEY = 'npm-start-test-key-0123456789';

/** Every process below pid (children, grandchildren...), from the process table. */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    // A zombie has exited; only its parent's (or init's) wait() is missing.
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 180_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Four consecutive free ports, for METRICS_BASE_PORT. */
async function freePortRun(): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base > 65532) continue;
    const taken = await Promise.all([1, 2, 3].map((i) => portInUse(base + i)));
    if (!taken.some(Boolean)) return base;
  }
}

/**
 * `npm start`'s entry (scripts/start.ts) as a user runs it, on spare ports with a data directory of its
 * own (so it never meets a real `npm start`) and the test databases: a SIGKILLed worker is restarted while
 * the API keeps answering, and SIGINT stops every process it started.
 */
describe('npm start', () => {
  let start: ChildProcess | undefined;
  let output = '';
  const dataDir = mkdtempSync(path.join(tmpdir(), 'saga-npm-start-'));

  afterAll(async () => {
    if (start && start.exitCode === null && start.signalCode === null) {
      start.kill('SIGINT');
      await new Promise((resolve) => start?.once('exit', resolve));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('restarts a SIGKILLed worker, keeps the API answering, and SIGINT stops everything', async () => {
    const [temporal, ui, api, codec, otlp, metrics] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePortRun(),
    ];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
      TEMPORAL_UI_PORT: String(ui),
      TEMPORAL_DATA_DIR: path.join(dataDir, 'temporal'),
      API_PORT: String(api),
      API_KEYS: API_KEY,
      CODEC_SERVER_PORT: String(codec),
      OTLP_RECEIVER_PORT: String(otlp),
      METRICS_BASE_PORT: String(metrics),
      TRACES_FILE: path.join(dataDir, 'traces', 'spans.jsonl'),
      CODEC_KEYS_FILE: path.join(dataDir, 'codec-keys'),
      LOG_LEVEL: 'info',
    };
    // As a user's shell would have it: no settings of the test run's own stack.
    for (const name of ['WORKFLOW_BUNDLE_PATH', 'TEMPORAL_UI_URL', 'SAGA_CODEC_KEYS', 'TASK_QUEUE_PREFIX'])
      delete env[name];
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    start = child;
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const pid = child.pid as number;
    await until('npm start to be ready', () => {
      if (child.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
      return output.includes('Ctrl-C stops everything');
    });

    const sagaApi = testClient(`http://127.0.0.1:${api}`, API_KEY);
    const runSaga = async () => {
      const { response, data } = await sagaApi.POST('/sagas', {
        params: { query: { waitSeconds: 30 } },
        body: sampleOrder(),
      });
      return { status: response.status, body: data };
    };
    expect(await runSaga()).toMatchObject({ status: 200, body: { status: 'COMPLETED' } });

    const paymentsWorker = () =>
      descendants(pid).find((p) => commandOf(p).includes('worker/main.ts payments'));
    const killed = paymentsWorker() as number;
    expect(killed).toBeDefined();
    const seen = new Set(descendants(pid));
    process.kill(killed, 'SIGKILL');

    await until('the restart line', () =>
      output.includes('[start] payments exited (signal SIGKILL); restarting in 1 s (restart 1)'),
    );
    const restarted = await until('a new payments worker', () => {
      const now = paymentsWorker();
      return now !== undefined && now !== killed ? now : undefined;
    });
    await until('the restarted worker to poll', () => output.match(/payments worker started/g)?.length === 2);
    for (const p of descendants(pid)) seen.add(p);
    expect(seen.has(restarted)).toBe(true);
    expect(alive(killed)).toBe(false);

    // Nothing else was stopped: the API answers, and a saga through the restarted worker completes.
    expect((await sagaApi.GET('/health/ready')).response.status).toBe(200);
    expect(await runSaga()).toMatchObject({ status: 200, body: { status: 'COMPLETED' } });
    expect(output).not.toContain('stopping everything');

    child.kill('SIGINT');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(output).toContain('[start] stopped');
    // Every process it started (workers, the restarted one, API, codec server, Temporal) is gone.
    await until('every process to end', () => ([...seen].some(alive) ? undefined : true), 15_000).catch(
      () => undefined,
    );
    expect([...seen].filter(alive).map((p) => `${p} ${commandOf(p)}`)).toEqual([]);
  }, 300_000);
});
