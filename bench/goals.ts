/** The goals of issue 15, each with its target and this run's figure (ratios within one run). */
import type { BenchMode } from './modes';
import type { Goal, MemoryGrowth, ModeResult } from './result';
import type { ThroughputRow } from './throughput';
import { cpuTotal } from './cpu';
import { round } from './stats';
import { SERVICES } from '../shared/config';

const AT = 50;

/** The saga against the six-step no-op ceiling, and that ceiling against the goal's (context, not the verdict). */
function sixStepFigure(row: ThroughputRow): string {
  if (!row.ceilingSix) return '';
  return `; the six-step no-op ceiling ${row.ceilingSix.median}/s: saga / it ${row.sagaPerCeilingSix}, it / the five-step ceiling ${row.ceilingSixPerCeiling}`;
}

/**
 * The CPU a workflow of each kind cost at 50 concurrent, whole and the Temporal server's part (bench/cpu.ts),
 * and the floor of stepsCpuBound: what the goal's ratio can reach with the steps' own CPU.
 */
function cpuFigure(row: ThroughputRow): string {
  const c = row.cpuMsPerWorkflow;
  if (!c) return '';
  const bound = stepsCpuBound(c);
  const boundFigure = bound
    ? `; CPU-bound, so a saga costing the six-step ceiling's ${round(bound.ceilingSixMs)} ms plus its steps' own ${round(bound.stepsMs)} ms would reach about ${round(bound.ratio, 3)} × the ceiling; that floor is ${round(bound.floorPerSaga, 3)} of the saga's CPU`
    : '';
  return `; CPU per workflow ${round(cpuTotal(c.saga))} vs ${round(cpuTotal(c.ceiling))} ms, the Temporal server's part ${round(c.saga.temporal ?? 0)} vs ${round(c.ceiling.temporal ?? 0)} ms${boundFigure}`;
}

/** Parts of the CPU table that do the steps' own work: their services' workers, database and broker. */
const STEP_PARTS: readonly string[] = [...SERVICES, 'postgres', 'nats'];

export interface StepsCpuBound {
  /** CPU per workflow of the six-step no-op ceiling, ms. */
  ceilingSixMs: number;
  /** The steps' own CPU per saga, ms: each of STEP_PARTS beyond what it used while the six-step ceiling ran. */
  stepsMs: number;
  /** The five-step ceiling's CPU over the floor (six-step ceiling + steps): the throughput ratio it allows. */
  ratio: number;
  /** The floor over the saga's own CPU: how close the saga is to it (1: nothing beyond it). */
  floorPerSaga: number;
}

/**
 * What limits the throughput goal when the cores are saturated (throughput = cores / CPU per workflow): a
 * floor for the saga's CPU, a no-op workflow of its length (the six-step ceiling) plus its steps' own CPU, and
 * the ratio to the five-step ceiling that floor allows. An estimate, low on the floor's side (so high on
 * floorPerSaga's): the no-op activities' handling counts in both terms; in cluster mode the saga's larger
 * histories, stored in the same PostgreSQL, count as steps; with traces on, the services' spans do too. The
 * orchestrator's and the Temporal server's CPU beyond the six-step ceiling's is the engine's, the payload
 * codec's (the ceiling encrypts nothing) and the traces'.
 */
export function stepsCpuBound(cpu: {
  ceiling: Record<string, number>;
  ceilingSix?: Record<string, number>;
  saga: Record<string, number>;
}): StepsCpuBound | undefined {
  const { ceiling, ceilingSix, saga } = cpu;
  if (!ceilingSix) return undefined; // runs before the six-step ceiling existed
  const stepsMs = STEP_PARTS.reduce(
    (sum, part) => sum + Math.max(0, (saga[part] ?? 0) - (ceilingSix[part] ?? 0)),
    0,
  );
  const ceilingSixMs = cpuTotal(ceilingSix);
  const floor = ceilingSixMs + stepsMs;
  return { ceilingSixMs, stepsMs, ratio: cpuTotal(ceiling) / floor, floorPerSaga: floor / cpuTotal(saga) };
}

/**
 * The saga's steps' own time: their activity run time beyond what the no-op activities of a ceiling take
 * (the SDK's part); the issue's five-step ceiling unless another is named.
 */
export function stepsOwnTimeMs(
  mode: ModeResult,
  ceiling: 'ceiling' | 'ceilingSix' = 'ceiling',
): number | undefined {
  const b = mode.breakdownMs;
  const c = b?.[ceiling];
  return b && c ? round(Math.max(0, b.saga.activityRun - c.activityRun)) : undefined;
}

/**
 * Context for the happy-path goal, not its verdict (the saga dispatches six steps where the goal's ceiling
 * dispatches five): the same bound with the six-step no-op ceiling measured in the same run.
 */
function sixStepContext(mode: ModeResult, sagaP50: number): string {
  const ceilingP50 = mode.latencyAt1?.ceilingSix?.p50;
  const steps = stepsOwnTimeMs(mode, 'ceilingSix');
  if (ceilingP50 === undefined || steps === undefined) return '';
  const bound = round(ceilingP50 + steps);
  return `; against the six-step no-op ceiling (${ceilingP50} + steps ${steps}): ${bound} ms, ratio ${round(sagaP50 / bound, 3)}`;
}

export function computeGoals(modes: ModeResult[], memory: MemoryGrowth | undefined): Goal[] {
  const goals: Goal[] = [];
  const of = (mode: BenchMode) => modes.find((m) => m.mode === mode);
  const at50 = (m: ModeResult | undefined) => m?.throughput?.find((row) => row.concurrency === AT);

  for (const m of modes) {
    const row = at50(m);
    goals.push({
      goal: `saga throughput at ${AT} concurrent vs the no-op ceiling`,
      mode: m.mode,
      target: '≥ 0.9 × ceiling',
      figure: row
        ? `${row.sagaPerCeiling} (saga ${row.saga.median}/s, ceiling ${row.ceiling.median}/s${sixStepFigure(row)}${cpuFigure(row)})`
        : 'not measured',
      met: row ? row.sagaPerCeiling >= 0.9 : null,
    });
  }
  for (const m of modes) {
    const steps = stepsOwnTimeMs(m);
    const l = m.latencyAt1;
    const bound = l && steps !== undefined ? round(l.ceiling.p50 + steps) : undefined;
    goals.push({
      goal: 'happy-path p50 at 1 concurrent vs ceiling p50 + the steps’ own (database) time',
      mode: m.mode,
      target: '≤ ceiling p50 + steps’ time',
      figure:
        l && bound !== undefined
          ? `${l.saga.p50} ms vs ${bound} ms (ceiling ${l.ceiling.p50} + steps ${steps}); ratio ${round(l.saga.p50 / bound, 3)}` +
            sixStepContext(m, l.saga.p50)
          : 'not measured',
      met: l && bound !== undefined ? l.saga.p50 <= bound : null,
    });
  }
  const file = at50(of('dev-file'));
  const memoryRow = at50(of('dev-memory'));
  const fileRatio = file && memoryRow ? round(file.saga.median / memoryRow.saga.median, 3) : undefined;
  // With dev-file-untraced in the run, the distance splits into the file store's part and the traces' part.
  const untraced = at50(of('dev-file-untraced'));
  const split =
    file && memoryRow && untraced
      ? `; untraced ${untraced.saga.median}/s: store ${round(untraced.saga.median / memoryRow.saga.median, 3)}, traces ${round(file.saga.median / untraced.saga.median, 3)}`
      : '';
  goals.push({
    goal: `\`npm start\` configuration (dev-file) vs in-memory, saga throughput at ${AT} concurrent`,
    target: '≥ 0.8 × dev-memory',
    figure:
      file && memoryRow && fileRatio !== undefined
        ? `${fileRatio} (${file.saga.median}/s vs ${memoryRow.saga.median}/s; ceiling ${round(file.ceiling.median / memoryRow.ceiling.median, 3)}${split})`
        : 'not measured (needs both dev-memory and dev-file)',
    met: fileRatio === undefined ? null : fileRatio >= 0.8,
  });
  for (const m of modes) {
    const f = m.readPath?.finished;
    goals.push({
      goal: `GET /sagas/{id} of a finished saga, p99 under ${m.readPath?.readers ?? 50} readers, vs describe`,
      mode: m.mode,
      target: '≤ 2 × describe p99',
      figure: f ? `${f.ratioP99} (${f.api.p99} ms vs ${f.direct.p99} ms)` : 'not measured',
      met: f ? f.ratioP99 <= 2 : null,
    });
  }
  const growth = memory ? Object.entries(memory.growthPercent) : [];
  const worst = growth.sort((a, b) => b[1] - a[1])[0];
  goals.push({
    goal: `worker RSS growth, after 100 → after ${memory?.sagas ?? 'N'} sagas (worst worker)`,
    target: '≤ 10 %',
    figure: worst ? `${worst[1]} % (${worst[0]})` : 'not measured',
    met: worst ? worst[1] <= 10 : null,
  });
  return goals;
}
