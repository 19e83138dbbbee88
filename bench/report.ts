/** Renders a benchmark result as a Markdown table and an SVG chart (vega-lite, rendered headless). */
export interface BenchResult {
  generatedAt: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  settings: Record<string, unknown>;
  throughput: {
    concurrency: number;
    saga: { median: number; min: number; max: number };
    bare: { median: number; min: number; max: number };
    ratio: number;
  }[];
  endToEnd: {
    happy: { p50: number; p95: number; p99: number; samples: number };
    compensation: { p50: number; p95: number; p99: number; samples: number };
    parallelCompensation: { p50: number; p95: number; p99: number; samples: number };
    ratioP50: number;
    ratioP95: number;
    parallelRatioP50: number;
    parallelRatioP95: number;
  };
  apiStartLatency: {
    clients: number;
    api: { p50: number; p99: number };
    direct: { p50: number; p99: number };
    ratioP99: number;
  }[];
  memory: {
    sagas: number;
    after100MiB: Record<string, number>;
    afterAllMiB: Record<string, number>;
    growthPercent: Record<string, number>;
  };
  breakdownMs: Record<string, number>;
  durationSeconds: number;
}

const r1 = (v: number) => v.toFixed(1);
const verdict = (ok: boolean) => (ok ? 'met' : 'not met');

export function renderMarkdown(result: BenchResult): string {
  const m = result.machine;
  const lines = [
    `Measured ${result.generatedAt} with \`${result.command}\` on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node} (${result.durationSeconds} s). Medians of ${String(result.settings.repetitions)} alternating repetitions; spread is min–max.`,
    '',
    '| Throughput (sagas/s) | saga engine | bare workflow | ratio (target ≥ 0.9) |',
    '| --- | --- | --- | --- |',
    ...result.throughput.map(
      (t) =>
        `| ${t.concurrency} concurrent | ${r1(t.saga.median)} (${r1(t.saga.min)}–${r1(t.saga.max)}) | ${r1(t.bare.median)} (${r1(t.bare.min)}–${r1(t.bare.max)}) | ${t.ratio} (${verdict(t.ratio >= 0.9)}) |`,
    ),
    '',
    '| End-to-end latency, API accepted → final (ms) | p50 | p95 | p99 |',
    '| --- | --- | --- | --- |',
    `| happy path (${result.endToEnd.happy.samples} sagas) | ${result.endToEnd.happy.p50} | ${result.endToEnd.happy.p95} | ${result.endToEnd.happy.p99} |`,
    `| compensation path, last step fails (${result.endToEnd.compensation.samples} sagas) | ${result.endToEnd.compensation.p50} | ${result.endToEnd.compensation.p95} | ${result.endToEnd.compensation.p99} |`,
    `| ratio compensation / happy (target ≤ 1.2) | ${result.endToEnd.ratioP50} (${verdict(result.endToEnd.ratioP50 <= 1.2)}) | ${result.endToEnd.ratioP95} | |`,
    `| compensation path, parallel compensation (${result.endToEnd.parallelCompensation.samples} sagas) | ${result.endToEnd.parallelCompensation.p50} | ${result.endToEnd.parallelCompensation.p95} | ${result.endToEnd.parallelCompensation.p99} |`,
    `| ratio parallel compensation / happy | ${result.endToEnd.parallelRatioP50} (${verdict(result.endToEnd.parallelRatioP50 <= 1.2)}) | ${result.endToEnd.parallelRatioP95} | |`,
    '',
    '| Start latency (ms) | API p50 | API p99 | client.workflow.start p50 | p99 | p99 ratio (target ≤ 1.2) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...result.apiStartLatency.map(
      (a) =>
        `| ${a.clients} clients | ${a.api.p50} | ${a.api.p99} | ${a.direct.p50} | ${a.direct.p99} | ${a.ratioP99} (${verdict(a.ratioP99 <= 1.2)}) |`,
    ),
    '',
    `| Worker RSS (MiB) | after 100 sagas | after ${result.memory.sagas} | growth (target ≤ 10 %) |`,
    '| --- | --- | --- | --- |',
    ...Object.keys(result.memory.after100MiB).map(
      (k) =>
        `| ${k} | ${result.memory.after100MiB[k]} | ${result.memory.afterAllMiB[k]} | ${result.memory.growthPercent[k]} % (${verdict((result.memory.growthPercent[k] ?? 0) <= 10)}) |`,
    ),
    '',
    "| Where a saga's time goes (median ms per saga, from workflow histories) | ms |",
    '| --- | --- |',
    ...Object.entries(result.breakdownMs).map(([k, v]) => `| ${k} | ${r1(v)} |`),
    '',
  ];
  return lines.join('\n');
}

export async function renderChart(result: BenchResult): Promise<string> {
  const vega = await import('vega');
  // vega-lite ships ES modules only, typed for node16 resolution: load it untyped.
  const vl = (await import('vega-lite' as string)) as { compile(spec: unknown): { spec: unknown } };
  const values = result.throughput.flatMap((t) => [
    { concurrency: String(t.concurrency), kind: 'saga engine', perSecond: t.saga.median },
    { concurrency: String(t.concurrency), kind: 'bare workflow', perSecond: t.bare.median },
  ]);
  const { spec } = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Complete sagas per second (median), saga engine vs bare Temporal workflow',
    width: 420,
    height: 240,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'concurrency', type: 'nominal', title: 'concurrent sagas' },
      xOffset: { field: 'kind' },
      y: { field: 'perSecond', type: 'quantitative', title: 'sagas / s' },
      color: { field: 'kind', type: 'nominal', title: null },
    },
  });
  const view = new vega.View(vega.parse(spec as never), { renderer: 'none' });
  return view.toSVG();
}
