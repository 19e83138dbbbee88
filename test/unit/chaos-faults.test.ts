import { clusterNodes, clusterPortsFrom } from '../../scripts/temporal/cluster-config';
import {
  CLUSTER_KILL_NODES,
  BROKER_OUTAGE_MS,
  DB_OUTAGE_MS,
  drawClusterFault,
  drawFault,
  faultName,
  HOLD_DOWN_MS,
  PROVIDER_OUTAGE_MS,
  isLong,
  SCRIPTED_CLUSTER_FAULTS,
  SCRIPTED_CLUSTER_WINDOW_MS,
  SCRIPTED_FAULTS,
  SCRIPTED_WINDOW_MS,
  WORKER_KINDS,
  type Fault,
  type ScriptedFault,
} from '../../tools/chaos/faults';
import { seeded } from '../../tools/chaos/workload';

const lengthOf = (f: Fault) => ('ms' in f ? f.ms : 'downMs' in f ? f.downMs : 0);

/**
 * The faults injected one after the other do not overlap and end within the window; one run `alongside`
 * ends within the window too and is not counted among them.
 */
function expectScheduled(faults: ScriptedFault[], windowMs: number): void {
  const sequential = faults.filter((s) => !s.alongside);
  sequential.forEach(({ atMs, fault }, i) => {
    const nextAt = sequential[i + 1]?.atMs ?? windowMs;
    expect(atMs + lengthOf(fault)).toBeLessThanOrEqual(nextAt);
  });
  for (const { atMs, fault } of faults.filter((s) => s.alongside)) {
    expect(atMs + lengthOf(fault)).toBeLessThanOrEqual(windowMs);
  }
}

describe('chaos faults', () => {
  test('random faults: every kind, with realistic durations', () => {
    const random = seeded(1);
    const drawn = Array.from({ length: 2000 }, () => drawFault(random));
    const names = new Set(drawn.map(faultName));
    for (const name of [
      'kill-orchestrator',
      'kill-orders',
      'kill-payments',
      'kill-shipments',
      'kill-inventory',
      'db-outage-orders',
      'db-outage-payments',
      'db-outage-shipments',
      'db-outage-inventory',
      'hold-down-orchestrator',
      'hold-down-shipments',
      'temporal-restart',
      'provider-outage',
      'broker-outage',
    ]) {
      expect(names).toContain(name);
    }
    for (const f of drawn) {
      if (f.kind === 'db-outage') {
        expect(f.ms).toBeGreaterThanOrEqual(DB_OUTAGE_MS.min);
        expect(f.ms).toBeLessThanOrEqual(DB_OUTAGE_MS.max);
      }
      if (f.kind === 'hold-down') expect(f.ms).toBe(HOLD_DOWN_MS);
      if (f.kind === 'provider-outage') expect(f.ms).toBe(PROVIDER_OUTAGE_MS);
      if (f.kind === 'broker-outage') expect(f.ms).toBe(BROKER_OUTAGE_MS);
    }
  });

  test('scripted faults: one of each kind, none overlapping but the broker outage, all within the window', () => {
    const kinds = SCRIPTED_FAULTS.map((s) => s.fault.kind);
    expect(new Set(kinds)).toEqual(
      new Set(['kill', 'db-outage', 'temporal-restart', 'hold-down', 'provider-outage', 'broker-outage']),
    );
    expect(SCRIPTED_FAULTS.filter((s) => s.fault.kind === 'kill')).toHaveLength(WORKER_KINDS.length);
    expectScheduled(SCRIPTED_FAULTS, SCRIPTED_WINDOW_MS);
    expect(SCRIPTED_FAULTS.filter((s) => s.alongside).map((s) => s.fault)).toEqual([
      { kind: 'broker-outage', ms: BROKER_OUTAGE_MS },
    ]);
    expect(SCRIPTED_FAULTS.filter((s) => isLong(s.fault) && !s.alongside)).toHaveLength(3);
  });

  test('cluster faults: node kills of every history and matching node, rolling restarts, outages of Temporal database', () => {
    const random = seeded(2);
    const drawn = Array.from({ length: 2000 }, () => drawClusterFault(random));
    const names = new Set(drawn.map(faultName));
    for (const name of [
      'kill-temporal-history-1',
      'kill-temporal-history-2',
      'kill-temporal-matching-1',
      'kill-temporal-matching-2',
      'rolling-restart',
      'temporal-db-outage',
      // the dev mode's faults stay
      'kill-orchestrator',
      'db-outage-payments',
      'hold-down-orders',
      'provider-outage',
    ]) {
      expect(names).toContain(name);
    }
    // A cluster is never stopped whole: the server restart becomes a rolling restart.
    expect(names).not.toContain('temporal-restart');
    const share = (kind: Fault['kind']) => drawn.filter((f) => f.kind === kind).length / drawn.length;
    expect(share('kill-node')).toBeGreaterThan(0.2);
    expect(share('rolling-restart')).toBeGreaterThan(0.05);
    for (const f of drawn) {
      if (f.kind === 'temporal-db-outage') {
        expect(f.ms).toBeGreaterThanOrEqual(DB_OUTAGE_MS.min);
        expect(f.ms).toBeLessThanOrEqual(DB_OUTAGE_MS.max);
      }
    }
    expect(isLong({ kind: 'rolling-restart' })).toBe(true);
    expect(isLong({ kind: 'temporal-db-outage', ms: 30_000 })).toBe(true);
    expect(isLong({ kind: 'kill-node', node: 'temporal-history-1' })).toBe(false);
  });

  test('the nodes the cluster faults kill are the cluster mode processes', () => {
    const names = clusterNodes(clusterPortsFrom(7233, 8233, 20000)).map((n) => n.name);
    for (const node of CLUSTER_KILL_NODES) expect(names).toContain(node);
    expect(CLUSTER_KILL_NODES.filter((n) => n.includes('history'))).toHaveLength(2);
    expect(CLUSTER_KILL_NODES.filter((n) => n.includes('matching'))).toHaveLength(2);
  });

  test('the same seed draws the same cluster faults (a run can be replayed)', () => {
    const a = seeded(9);
    const b = seeded(9);
    expect(Array.from({ length: 50 }, () => drawClusterFault(a))).toEqual(
      Array.from({ length: 50 }, () => drawClusterFault(b)),
    );
  });

  test('scripted cluster faults: each node kill, a rolling restart, an outage of Temporal database, in order', () => {
    const names = SCRIPTED_CLUSTER_FAULTS.map((s) => faultName(s.fault));
    for (const node of CLUSTER_KILL_NODES) expect(names).toContain(`kill-${node}`);
    for (const worker of WORKER_KINDS) expect(names).toContain(`kill-${worker}`);
    expect(names.filter((n) => n === 'rolling-restart')).toHaveLength(1);
    expect(names.filter((n) => n === 'temporal-db-outage')).toHaveLength(1);
    expect(names).not.toContain('temporal-restart');
    expect(names.filter((n) => n === 'broker-outage')).toHaveLength(1);
    expectScheduled(SCRIPTED_CLUSTER_FAULTS, SCRIPTED_CLUSTER_WINDOW_MS);
  });
});
