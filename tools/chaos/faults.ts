import { SERVICES, type ServiceName } from '../../shared/config';

/**
 * The faults a chaos run injects, with realistic durations: what production sees (a database restart
 * or failover, a host that stays down, a Temporal server restart, a crash), not blips a few retries hide.
 */
export const WORKER_KINDS = ['orchestrator', ...SERVICES] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];

export type Fault =
  /** SIGKILL of one worker; the supervisor starts it again after a second. */
  | { kind: 'kill'; worker: WorkerKind }
  /** One service's database unreachable through its TCP proxy (connections cut, new ones refused). */
  | { kind: 'db-outage'; service: ServiceName; ms: number }
  /** One worker killed and kept down, as a host that does not come back at once. */
  | { kind: 'hold-down'; worker: WorkerKind; ms: number }
  /** The Temporal server stopped and started again on its database. */
  | { kind: 'temporal-restart'; downMs: number }
  /** The payment provider answering every call with a 5xx for a while (its outage switch). */
  | { kind: 'provider-outage'; ms: number }
  /** The run's NATS server stopped, then started again on its port and store: the outbox relays wait. */
  | { kind: 'broker-outage'; ms: number }
  /** Cluster mode: SIGKILL of one Temporal server node (history or matching); its supervisor restarts it. */
  | { kind: 'kill-node'; node: ClusterFaultNode }
  /**
   * Cluster mode: every Temporal process (server nodes, then the UI server) stopped and started again, one
   * at a time, each back (listening again) before the next is stopped: a deploy of a new server version.
   */
  | { kind: 'rolling-restart' }
  /** Cluster mode: Temporal's own PostgreSQL unreachable through its TCP proxy (a failover of its database). */
  | { kind: 'temporal-db-outage'; ms: number };

/** The cluster mode's nodes a chaos run kills (scripts/temporal/cluster-config.ts clusterNodes names them). */
export const CLUSTER_KILL_NODES = [
  'temporal-history-1',
  'temporal-history-2',
  'temporal-matching-1',
  'temporal-matching-2',
] as const;
export type ClusterFaultNode = (typeof CLUSTER_KILL_NODES)[number];

/** The name a fault is counted under in the report, e.g. `db-outage-payments`. */
export function faultName(fault: Fault): string {
  switch (fault.kind) {
    case 'kill':
    case 'hold-down':
      return `${fault.kind}-${fault.worker}`;
    case 'db-outage':
      return `db-outage-${fault.service}`;
    case 'kill-node':
      return `kill-${fault.node}`;
    case 'temporal-restart':
    case 'provider-outage':
    case 'broker-outage':
    case 'rolling-restart':
    case 'temporal-db-outage':
      return fault.kind;
  }
}

/** Faults that last (an outage, a hold-down): a run injects one at a time, with calm in between. */
export function isLong(fault: Fault): boolean {
  return (
    fault.kind === 'db-outage' ||
    fault.kind === 'hold-down' ||
    fault.kind === 'provider-outage' ||
    fault.kind === 'broker-outage' ||
    fault.kind === 'rolling-restart' ||
    fault.kind === 'temporal-db-outage'
  );
}

export const DB_OUTAGE_MS = { min: 30_000, max: 120_000 };
export const HOLD_DOWN_MS = 120_000;
export const PROVIDER_OUTAGE_MS = 60_000;
export const BROKER_OUTAGE_MS = 60_000;
export const TEMPORAL_DOWN_MS = 5_000;
/** Quiet time after a long fault ends before the next long one may start. */
export const CALM_AFTER_LONG_MS = 60_000;

const pick = <T>(list: readonly T[], random: () => number): T =>
  list[Math.min(list.length - 1, Math.floor(random() * list.length))] as T;

/**
 * One random fault: mostly kills (cheap, frequent in real fleets), some database outages of 30-120 s,
 * some 2-minute hold-downs, 60 s provider and broker outages and server restarts.
 */
export function drawFault(random: () => number): Fault {
  const roll = random();
  if (roll < 0.55) return { kind: 'kill', worker: pick(WORKER_KINDS, random) };
  if (roll < 0.75) {
    const ms = DB_OUTAGE_MS.min + Math.round(random() * (DB_OUTAGE_MS.max - DB_OUTAGE_MS.min));
    return { kind: 'db-outage', service: pick(SERVICES, random), ms };
  }
  if (roll < 0.85) return { kind: 'hold-down', worker: pick(WORKER_KINDS, random), ms: HOLD_DOWN_MS };
  if (roll < 0.9) return { kind: 'provider-outage', ms: PROVIDER_OUTAGE_MS };
  if (roll < 0.95) return { kind: 'broker-outage', ms: BROKER_OUTAGE_MS };
  return { kind: 'temporal-restart', downMs: TEMPORAL_DOWN_MS };
}

/**
 * `--temporal-mode cluster`: a third of the faults hit the Temporal cluster (SIGKILLs of history and
 * matching nodes, rolling restarts, outages of Temporal's database of 30-120 s), the rest are the dev mode's
 * faults, except that the whole-server restart becomes a rolling restart (a production cluster is never
 * stopped as a whole).
 */
export function drawClusterFault(random: () => number): Fault {
  const roll = random();
  if (roll < 0.25) return { kind: 'kill-node', node: pick(CLUSTER_KILL_NODES, random) };
  if (roll < 0.29) return { kind: 'rolling-restart' };
  if (roll < 0.33) {
    const ms = DB_OUTAGE_MS.min + Math.round(random() * (DB_OUTAGE_MS.max - DB_OUTAGE_MS.min));
    return { kind: 'temporal-db-outage', ms };
  }
  const fault = drawFault(random);
  return fault.kind === 'temporal-restart' ? { kind: 'rolling-restart' } : fault;
}

/**
 * `--scripted` (run by `npm test`): one fault of each kind, one after the other, at fixed offsets from
 * the start of the fault window. The database outage is 60 s and the hold-down 60 s (not 2 minutes) to
 * keep the run to about three minutes; the sagas are paced across the whole window. The outage comes
 * first: a service worker killed just before it would still be restarting when its database goes away,
 * and would crash-loop on its start-up probe for the whole outage, so no activity would even be tried.
 * The broker outage runs `alongside` the hold-down (it touches no saga, only the events' way out), so it
 * adds no time; the other faults come one after the other.
 */
export interface ScriptedFault {
  atMs: number;
  fault: Fault;
  /** Injected without waiting for it to end: the next fault does not wait for this one. */
  alongside?: true;
}

export const SCRIPTED_FAULTS: ScriptedFault[] = [
  { atMs: 5_000, fault: { kind: 'db-outage', service: 'payments', ms: 60_000 } },
  { atMs: 72_000, fault: { kind: 'temporal-restart', downMs: TEMPORAL_DOWN_MS } },
  ...WORKER_KINDS.map((worker, i) => ({
    atMs: 85_000 + i * 2_000,
    fault: { kind: 'kill', worker } as Fault,
  })),
  { atMs: 100_000, fault: { kind: 'broker-outage', ms: BROKER_OUTAGE_MS }, alongside: true },
  { atMs: 100_000, fault: { kind: 'hold-down', worker: 'shipments', ms: 60_000 } },
  { atMs: 162_000, fault: { kind: 'provider-outage', ms: 45_000 } },
];
/** When the scripted faults are over (the last one ends), from the start of the fault window. */
export const SCRIPTED_WINDOW_MS = 210_000;

/**
 * `--scripted --temporal-mode cluster`: the scripted faults with the cluster's instead of the server
 * restart: a 45 s outage of Temporal's database, a SIGKILL of each history and matching node, a rolling
 * restart (its length depends on the machine: the window is a lower bound, later faults wait for it).
 */
export const SCRIPTED_CLUSTER_FAULTS: ScriptedFault[] = [
  { atMs: 5_000, fault: { kind: 'db-outage', service: 'payments', ms: 60_000 } },
  { atMs: 70_000, fault: { kind: 'temporal-db-outage', ms: 45_000 } },
  ...CLUSTER_KILL_NODES.map((node, i) => ({
    atMs: 120_000 + i * 5_000,
    fault: { kind: 'kill-node', node } as Fault,
  })),
  ...WORKER_KINDS.map((worker, i) => ({
    atMs: 145_000 + i * 2_000,
    fault: { kind: 'kill', worker } as Fault,
  })),
  { atMs: 160_000, fault: { kind: 'rolling-restart' } },
  { atMs: 165_000, fault: { kind: 'broker-outage', ms: BROKER_OUTAGE_MS }, alongside: true },
  { atMs: 165_000, fault: { kind: 'hold-down', worker: 'shipments', ms: 60_000 } },
  { atMs: 230_000, fault: { kind: 'provider-outage', ms: 45_000 } },
];
export const SCRIPTED_CLUSTER_WINDOW_MS = 280_000;
