/**
 * Where the machine's CPU goes during a measurement (issue 15: "what limits it"): every process's user +
 * system time from /proc, summed by the part of the stack it belongs to. A process belongs to the nearest
 * named root above it (a worker process), else to what its command name says (the Temporal server, the
 * machine's PostgreSQL, the bench's NATS), else to the bench itself (this process: the clients, the traces
 * receiver) or, outside our tree, to "other" (the rest of the machine).
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // Linux's USER_HZ, the unit of /proc/<pid>/stat times

interface ProcessTimes {
  comm: string;
  ppid: number;
  /** CPU seconds (user + system) used so far. */
  seconds: number;
}

export type CpuSnapshot = Map<number, ProcessTimes>;

function readStat(pid: number): ProcessTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return {
      comm: stat.slice(stat.indexOf('(') + 1, close),
      ppid: Number(fields[1]),
      seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
    };
  } catch {
    return undefined; // gone between the listing and the read
  }
}

/** CPU seconds (user + system) one process has used so far; 0 once it is gone. */
export const cpuSeconds = (pid: number): number => readStat(pid)?.seconds ?? 0;

/** Every process's CPU time now. */
export function cpuSnapshot(): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const times = readStat(pid);
    if (times) snapshot.set(pid, times);
  }
  return snapshot;
}

/** The whole of a measurement's parts (seconds, or ms per workflow). */
export const cpuTotal = (parts: Record<string, number> | undefined): number =>
  Object.values(parts ?? {}).reduce((a, b) => a + b, 0);

/** Parts named by command (a process of ours under no named root). */
const BY_COMMAND: [RegExp, string][] = [
  [/^temporal/, 'temporal'],
  [/^postgres/, 'postgres'],
  [/^nats-server/, 'nats'],
];

/**
 * CPU seconds used between two snapshots, by part. `roots` names processes whose whole trees are one part
 * (e.g. { orchestrator: pid }). Processes that ended between the snapshots are not counted.
 */
export function cpuByPart(
  before: CpuSnapshot,
  after: CpuSnapshot,
  roots: Record<string, number>,
  self = process.pid,
): Record<string, number> {
  const rootNames = new Map(Object.entries(roots).map(([name, pid]) => [pid, name]));
  const partOf = (pid: number): string => {
    let mine = false;
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = after.get(p)?.ppid ?? 0, hops++) {
      const root = rootNames.get(p);
      if (root) return root;
      if (p === self) mine = true;
    }
    const comm = after.get(pid)?.comm ?? '';
    return BY_COMMAND.find(([pattern]) => pattern.test(comm))?.[1] ?? (mine ? 'bench' : 'other');
  };
  const parts: Record<string, number> = {};
  for (const [pid, times] of after) {
    // A process started in between (a new database connection) counts whole.
    const used = times.seconds - (before.get(pid)?.seconds ?? 0);
    if (used <= 0) continue;
    const part = partOf(pid);
    parts[part] = (parts[part] ?? 0) + used;
  }
  return parts;
}
