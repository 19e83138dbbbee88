import { cpuByPart, cpuSnapshot, cpuTotal } from './cpu';
import { quantile, round, runConcurrently, summarize } from './stats';

/** The workloads measured side by side on one stack: the no-op ceilings of five and six steps, the bare
 * workflow and the saga. */
export const KINDS = ['ceiling', 'ceilingSix', 'bare', 'saga'] as const;
export type Kind = (typeof KINDS)[number];
/** How reports name each kind. */
export const KIND_LABELS: Record<Kind, string> = {
  ceiling: 'no-op ceiling',
  ceilingSix: 'no-op ceiling, six steps',
  bare: 'bare workflow',
  saga: 'saga',
};

/** Runs one workflow of a kind to its end; returns its workflow id (for the history breakdown). */
export type Runner = () => Promise<string>;

export type Summary = ReturnType<typeof summarize>;
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  samples: number;
}

export interface ThroughputRow {
  concurrency: number;
  /** Workflows per run of each kind at this concurrency. */
  workflows: number;
  ceiling: Summary;
  /** Absent from results before 2026-12-07 18:00, as its ratios and CPU figures are. */
  ceilingSix?: Summary;
  bare: Summary;
  saga: Summary;
  sagaPerCeiling: number;
  /** The saga against the no-op ceiling of as many steps as it has. */
  sagaPerCeilingSix?: number;
  /** The six-step ceiling against the five-step one: the most any six-step workflow can score on the goal. */
  ceilingSixPerCeiling?: number;
  sagaPerBare: number;
  /**
   * CPU milliseconds per workflow of each kind, by part of the stack (bench/cpu.ts), over all repetitions:
   * on a machine whose cores are busy, throughput is the cores divided by their sum.
   */
  cpuMsPerWorkflow: Record<Kind, Record<string, number>>;
  /** Cores the whole machine kept busy while each kind ran (CPU seconds per second). */
  coresBusy: Record<Kind, number>;
}

export interface ThroughputResult {
  rows: ThroughputRow[];
  /** Start → result of each workflow at 1 concurrent (the happy path's own latency). */
  latencyAt1: Record<Kind, Percentiles>;
  /** The workflows run at 1 concurrent, for the history breakdown. */
  idsAt1: Record<Kind, string[]>;
  /** Every saga this measurement ran (finished ones for the read path). */
  sagaIds: string[];
}

const byKind = <T>(value: (kind: Kind) => T) =>
  Object.fromEntries(KINDS.map((kind) => [kind, value(kind)])) as Record<Kind, T>;

export const percentiles = (values: readonly number[]): Percentiles => ({
  p50: round(quantile(values, 0.5)),
  p95: round(quantile(values, 0.95)),
  p99: round(quantile(values, 0.99)),
  samples: values.length,
});

/**
 * Complete workflows per second of each kind at each concurrency, `reps` times. The order of the kinds is
 * rotated each repetition (ceiling-ceilingSix-bare-saga, ceilingSix-bare-saga-ceiling, ...), so drift on a
 * shared machine does not favour one; the medians and their ratios are what the report gives.
 */
export async function measureThroughput(
  runners: Record<Kind, Runner>,
  counts: Record<number, number>,
  reps: number,
  log: (line: string) => void,
  /** The processes whose trees are parts of their own in the CPU figures (the workers). */
  cpuRoots: () => Record<string, number> = () => ({}),
): Promise<ThroughputResult> {
  const rows: ThroughputRow[] = [];
  const latencyAt1 = byKind((): number[] => []);
  const idsAt1 = byKind((): string[] => []);
  const sagaIds: string[] = [];
  for (const [level, total] of Object.entries(counts)) {
    const concurrency = Number(level);
    const rates = byKind((): number[] => []);
    const cpu = byKind((): Record<string, number> => ({}));
    const seconds = byKind(() => 0);
    for (let rep = 0; rep < reps; rep++) {
      const order = KINDS.map((_, i) => KINDS[(i + rep) % KINDS.length] as Kind);
      for (const kind of order) {
        const ids: string[] = [];
        const cpuBefore = cpuSnapshot();
        const start = performance.now();
        const durations = await runConcurrently(total, concurrency, async () => {
          ids.push(await runners[kind]());
        });
        const elapsed = (performance.now() - start) / 1000;
        rates[kind].push(total / elapsed);
        seconds[kind] += elapsed;
        for (const [part, used] of Object.entries(cpuByPart(cpuBefore, cpuSnapshot(), cpuRoots())))
          cpu[kind][part] = (cpu[kind][part] ?? 0) + used;
        if (kind === 'saga') sagaIds.push(...ids);
        if (concurrency === 1) {
          latencyAt1[kind].push(...durations);
          idsAt1[kind].push(...ids);
        }
      }
    }
    const { ceiling, ceilingSix, bare, saga } = byKind((kind) =>
      summarize(rates[kind].map((r) => round(r, 2))),
    );
    const row: ThroughputRow = {
      concurrency,
      workflows: total,
      ceiling,
      ceilingSix,
      bare,
      saga,
      sagaPerCeiling: round(saga.median / ceiling.median, 3),
      sagaPerCeilingSix: round(saga.median / ceilingSix.median, 3),
      ceilingSixPerCeiling: round(ceilingSix.median / ceiling.median, 3),
      sagaPerBare: round(saga.median / bare.median, 3),
      cpuMsPerWorkflow: byKind((kind) =>
        Object.fromEntries(
          Object.entries(cpu[kind]).map(([part, s]) => [part, round((s * 1000) / (total * reps), 2)]),
        ),
      ),
      coresBusy: byKind((kind) => round(cpuTotal(cpu[kind]) / seconds[kind], 2)),
    };
    log(
      `throughput c=${concurrency}: ceiling ${ceiling.median}/s, six-step ceiling ${ceilingSix.median}/s, ` +
        `bare ${bare.median}/s, saga ${saga.median}/s (saga/ceiling ${row.sagaPerCeiling}, ` +
        `saga/six-step ceiling ${row.sagaPerCeilingSix}, saga/bare ${row.sagaPerBare})`,
    );
    rows.push(row);
  }
  return {
    rows,
    latencyAt1: byKind((kind) => percentiles(latencyAt1[kind])),
    idsAt1,
    sagaIds,
  };
}
