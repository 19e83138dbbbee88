import { Supervisor, type ProcessSpec } from '../../scripts/lib/supervisor';

/**
 * Supervisor.restart, the step of the chaos run's rolling restart of the Temporal cluster: the process is
 * stopped (SIGTERM) and started again at once, not counted as a crash, and restart() resolves once the new
 * one runs. Plain executables stand in for the server nodes (the other cases are in
 * test/integration/supervisor.test.ts).
 */
describe('Supervisor.restart', () => {
  test('stops the process, starts it again at once, and counts no crash', async () => {
    const spec: ProcessSpec = {
      name: 'node-1',
      command: process.execPath,
      args: ['-e', 'console.log(`up ${process.pid}`); setInterval(() => {}, 1000);'],
      env: process.env,
    };
    const lines: string[] = [];
    let output = '';
    // maxCrashes 1: a restart counted as a crash would make the supervisor give up.
    const supervisor = new Supervisor([spec], {
      policy: { initialDelayMs: 600_000, maxCrashes: 1 },
      log: (line) => lines.push(line),
      output: (line) => (output += `${line}\n`),
    });
    const ups = () => output.match(/up \d+/g)?.length ?? 0;
    const until = async (ok: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      supervisor.start();
      await until(() => ups() === 1);
      const first = supervisor.process('node-1')?.child.pid;
      for (let i = 2; i <= 3; i++) {
        // Started again at once: after the crash delay (10 minutes here) `until` would time out.
        await supervisor.restart('node-1');
        await until(() => ups() === i);
      }
      expect(supervisor.process('node-1')?.child.pid).not.toBe(first);
      expect(supervisor.restartsOf('node-1')).toBe(2);
      expect(lines).toEqual([]);
    } finally {
      await supervisor.stop();
    }
  }, 120_000);
});
