import { stepsCpuBound } from '../../bench/goals';

describe('the throughput goal’s CPU bound', () => {
  // ms of CPU per workflow by part, as bench/cpu.ts reports them at 50 concurrent.
  const idleServices = { orders: 1, payments: 1, shipments: 1, inventory: 1 };
  const cpu = {
    ceiling: { temporal: 60, ceiling: 30, postgres: 1, nats: 0, ...idleServices, bench: 5 },
    ceilingSix: { temporal: 70, ceiling: 40, postgres: 1, nats: 0, ...idleServices, bench: 6 },
    bare: { temporal: 80, orchestrator: 30, postgres: 20, nats: 1, ...idleServices, bench: 6 },
    saga: {
      temporal: 100,
      orchestrator: 40,
      orders: 16,
      payments: 21,
      shipments: 11,
      inventory: 16,
      postgres: 21,
      nats: 2,
      bench: 7,
    },
  };

  it('adds the steps’ own CPU beyond the six-step ceiling’s to that ceiling, against the five-step one', () => {
    // The steps: services 15 + 20 + 10 + 15 beyond their idle 1 each, PostgreSQL 20 and NATS 2 beyond the
    // six-step ceiling's; neither the server's nor the orchestrator's extra CPU counts (the engine's cost).
    expect(stepsCpuBound(cpu)).toEqual({ ceilingSixMs: 121, stepsMs: 82, ratio: round3(100 / (121 + 82)) });
  });

  it('has no bound without the six-step ceiling (runs before it existed)', () => {
    const { ceilingSix: _omitted, ...older } = cpu;
    expect(stepsCpuBound(older as unknown as typeof cpu)).toBeUndefined();
  });
});

const round3 = (value: number) => Number(value.toFixed(3));
