import { cpuByPart, cpuSnapshot, type CpuSnapshot } from '../../bench/cpu';

const snapshot = (rows: [pid: number, comm: string, ppid: number, seconds: number][]): CpuSnapshot =>
  new Map(rows.map(([pid, comm, ppid, seconds]) => [pid, { comm, ppid, seconds }]));

describe('bench CPU by part of the stack', () => {
  // The bench (100) started a worker (200, which runs a helper 201), the Temporal dev server (300) and
  // NATS (400); PostgreSQL (50, a backend 51) and an unrelated process (60) are the machine's.
  const before = snapshot([
    [1, 'init', 0, 5],
    [50, 'postgres', 1, 10],
    [51, 'postgres', 50, 1],
    [60, 'sshd', 1, 3],
    [100, 'node', 1, 20],
    [200, 'node', 100, 7],
    [201, 'node', 200, 1],
    [300, 'temporal', 100, 30],
    [400, 'nats-server', 100, 2],
  ]);
  const after = snapshot([
    [1, 'init', 0, 5],
    [50, 'postgres', 1, 10.5],
    [51, 'postgres', 50, 2],
    [52, 'postgres', 50, 0.25], // a connection opened in between counts whole
    [60, 'sshd', 1, 3.5],
    [100, 'node', 1, 21],
    [200, 'node', 100, 9],
    [201, 'node', 200, 1.5],
    [300, 'temporal', 100, 34],
    [400, 'nats-server', 100, 2.25],
  ]);

  it('sums each process tree under its named root, the rest by command, the bench and the machine', () => {
    expect(cpuByPart(before, after, { orders: 200 }, 100)).toEqual({
      orders: 2.5,
      temporal: 4,
      postgres: 1.75,
      nats: 0.25,
      bench: 1,
      other: 0.5,
    });
  });

  it('reads this machine’s processes, this one among them, with CPU time that only grows', () => {
    const first = cpuSnapshot();
    let x = 0;
    for (let i = 0; i < 5e6; i++) x += i;
    const second = cpuSnapshot();
    expect(x).toBeGreaterThan(0);
    const mine = [first.get(process.pid), second.get(process.pid)];
    expect(mine[0]?.ppid).toBe(process.ppid);
    expect(mine[1]!.seconds).toBeGreaterThanOrEqual(mine[0]!.seconds);
    expect(mine[1]!.seconds).toBeGreaterThan(0);
  });
});
