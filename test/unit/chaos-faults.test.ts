import {
  DB_OUTAGE_MS,
  drawFault,
  faultName,
  HOLD_DOWN_MS,
  PROVIDER_OUTAGE_MS,
  isLong,
  SCRIPTED_FAULTS,
  SCRIPTED_WINDOW_MS,
  WORKER_KINDS,
  type Fault,
} from '../../tools/chaos/faults';
import { seeded } from '../../tools/chaos/workload';

const lengthOf = (f: Fault) => ('ms' in f ? f.ms : 'downMs' in f ? f.downMs : 0);

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
    }
  });

  test('scripted faults: one of each kind, none overlapping, all within the window', () => {
    const kinds = SCRIPTED_FAULTS.map((s) => s.fault.kind);
    expect(new Set(kinds)).toEqual(
      new Set(['kill', 'db-outage', 'temporal-restart', 'hold-down', 'provider-outage']),
    );
    expect(SCRIPTED_FAULTS.filter((s) => s.fault.kind === 'kill')).toHaveLength(WORKER_KINDS.length);
    SCRIPTED_FAULTS.forEach(({ atMs, fault }, i) => {
      const nextAt = SCRIPTED_FAULTS[i + 1]?.atMs ?? SCRIPTED_WINDOW_MS;
      expect(atMs + lengthOf(fault)).toBeLessThanOrEqual(nextAt);
    });
    expect(SCRIPTED_FAULTS.filter((s) => isLong(s.fault))).toHaveLength(3);
  });
});
