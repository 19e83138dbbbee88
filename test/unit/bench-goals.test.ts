import { stepsCpuBound } from '../../bench/goals';

describe('the throughput goal’s CPU bound', () => {
  // ms of CPU per workflow by part, as bench/cpu.ts reports them at 50 concurrent.
  const idleServices = { orders: 1, payments: 1, shipments: 1, inventory: 1 };
  const ceiling = { temporal: 60, ceiling: 30, postgres: 1, nats: 0, ...idleServices, bench: 5 }; // 100
  const ceilingSix = { temporal: 70, ceiling: 40, postgres: 1, nats: 0, ...idleServices, bench: 6 }; // 121
  const saga = {
    temporal: 100,
    orchestrator: 40,
    orders: 16,
    payments: 21,
    shipments: 11,
    inventory: 16,
    postgres: 21,
    nats: 2,
    bench: 7,
  }; // 234

  it('adds the steps’ own CPU beyond the six-step ceiling’s to that ceiling: the floor of a saga', () => {
    // The steps: services 15 + 20 + 10 + 15 beyond their idle 1 each, PostgreSQL 20 and NATS 2 beyond the
    // six-step ceiling's; neither the server's nor the orchestrator's extra CPU counts (the engine's cost).
    const bound = stepsCpuBound({ ceiling, ceilingSix, saga });
    expect(bound).toMatchObject({ ceilingSixMs: 121, stepsMs: 82 });
    // The ceiling's CPU over the floor is the throughput ratio the floor allows; the floor over the saga's
    // CPU is how near the saga is to it.
    expect(bound?.ratio).toBeCloseTo(100 / 203, 10);
    expect(bound?.floorPerSaga).toBeCloseTo(203 / 234, 10);
  });

  it('counts no step part below what it used while the ceiling ran', () => {
    // NATS idle during the saga (a broker with less to do than its own housekeeping) takes nothing off.
    const bound = stepsCpuBound({ ceiling, ceilingSix: { ...ceilingSix, nats: 5 }, saga });
    expect(bound?.stepsMs).toBe(80);
    expect(bound?.ceilingSixMs).toBe(126);
  });

  it('has no bound without the six-step ceiling (runs before it existed)', () => {
    expect(stepsCpuBound({ ceiling, saga })).toBeUndefined();
  });
});
