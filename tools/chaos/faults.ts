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
  | { kind: 'provider-outage'; ms: number };

/** The name a fault is counted under in the report, e.g. `db-outage-payments`. */
export function faultName(fault: Fault): string {
  switch (fault.kind) {
    case 'kill':
    case 'hold-down':
      return `${fault.kind}-${fault.worker}`;
    case 'db-outage':
      return `db-outage-${fault.service}`;
    case 'temporal-restart':
    case 'provider-outage':
      return fault.kind;
  }
}

/** Faults that last (an outage, a hold-down): a run injects one at a time, with calm in between. */
export function isLong(fault: Fault): boolean {
  return fault.kind === 'db-outage' || fault.kind === 'hold-down' || fault.kind === 'provider-outage';
}

export const DB_OUTAGE_MS = { min: 30_000, max: 120_000 };
export const HOLD_DOWN_MS = 120_000;
export const PROVIDER_OUTAGE_MS = 60_000;
export const TEMPORAL_DOWN_MS = 5_000;
/** Quiet time after a long fault ends before the next long one may start. */
export const CALM_AFTER_LONG_MS = 60_000;

const pick = <T>(list: readonly T[], random: () => number): T =>
  list[Math.min(list.length - 1, Math.floor(random() * list.length))] as T;

/**
 * One random fault: mostly kills (cheap, frequent in real fleets), some database outages of 30-120 s,
 * some 2-minute hold-downs, 60 s provider outages and server restarts.
 */
export function drawFault(random: () => number): Fault {
  const roll = random();
  if (roll < 0.55) return { kind: 'kill', worker: pick(WORKER_KINDS, random) };
  if (roll < 0.75) {
    const ms = DB_OUTAGE_MS.min + Math.round(random() * (DB_OUTAGE_MS.max - DB_OUTAGE_MS.min));
    return { kind: 'db-outage', service: pick(SERVICES, random), ms };
  }
  if (roll < 0.85) return { kind: 'hold-down', worker: pick(WORKER_KINDS, random), ms: HOLD_DOWN_MS };
  if (roll < 0.93) return { kind: 'provider-outage', ms: PROVIDER_OUTAGE_MS };
  return { kind: 'temporal-restart', downMs: TEMPORAL_DOWN_MS };
}

/**
 * `--scripted` (run by `npm test`): one fault of each kind, one after the other, at fixed offsets from
 * the start of the fault window. The database outage is 60 s and the hold-down 60 s (not 2 minutes) to
 * keep the run to about three minutes; the sagas are paced across the whole window. The outage comes
 * first: a service worker killed just before it would still be restarting when its database goes away,
 * and would crash-loop on its start-up probe for the whole outage, so no activity would even be tried.
 */
export const SCRIPTED_FAULTS: { atMs: number; fault: Fault }[] = [
  { atMs: 5_000, fault: { kind: 'db-outage', service: 'payments', ms: 60_000 } },
  { atMs: 72_000, fault: { kind: 'temporal-restart', downMs: TEMPORAL_DOWN_MS } },
  ...WORKER_KINDS.map((worker, i) => ({
    atMs: 85_000 + i * 2_000,
    fault: { kind: 'kill', worker } as Fault,
  })),
  { atMs: 100_000, fault: { kind: 'hold-down', worker: 'shipments', ms: 60_000 } },
  { atMs: 162_000, fault: { kind: 'provider-outage', ms: 45_000 } },
];
/** When the scripted faults are over (the last one ends), from the start of the fault window. */
export const SCRIPTED_WINDOW_MS = 210_000;
