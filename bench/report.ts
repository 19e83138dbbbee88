/** Renders a benchmark result as Markdown tables and an SVG chart (vega-lite, rendered headless). */
import { cpuTotal } from './cpu';
import { stepsOwnTimeMs } from './goals';
import { MODE_LABELS } from './modes';
import type { BenchResult, ModeResult } from './result';
import { KIND_LABELS, KINDS } from './throughput';
import type { ReadPart } from './read-path';

export type { BenchResult } from './result';

const r1 = (v: number) => v.toFixed(1);
const verdict = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'met' : 'not met');
const spread = (s: { median: number; min: number; max: number }) =>
  `${r1(s.median)} (${r1(s.min)}–${r1(s.max)})`;
/** The kinds a mode's result has: results before the six-step ceiling lack it. */
const kindsIn = <T extends object>(record: T) => KINDS.filter((kind) => kind in record);
/** A ratio of a result that may predate it. */
const orDash = (value: number | undefined) => (value === undefined ? '–' : String(value));

export function renderMarkdown(result: BenchResult): string {
  const m = result.machine;
  const measured = result.modes.filter((mode) => !mode.error || mode.throughput);
  const lines = [
    `Measured ${result.generatedAt} with \`${result.command}\` on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node} (${result.durationSeconds} s)${result.renderedAt ? `; goals and report rendered again from its samples ${result.renderedAt} (\`npm run bench -- --render\`)` : ''}. Medians of ${String(result.settings.repetitions)} repetitions with the workloads' order rotated; spread is min–max.`,
    '',
    'Modes: ' +
      result.modes
        .map((mode) => `**${mode.mode}**: ${MODE_LABELS[mode.mode]} (started in ${mode.startSeconds} s)`)
        .join('; ') +
      '.',
    '',
    ...result.modes.filter((mode) => mode.error).map((mode) => `**${mode.mode} failed**: ${mode.error}\n`),
    '| Goal (issue 15) | mode | target | figure | |',
    '| --- | --- | --- | --- | --- |',
    ...result.goals.map(
      (g) => `| ${g.goal} | ${g.mode ?? ''} | ${g.target} | ${g.figure} | ${verdict(g.met)} |`,
    ),
    '',
    '| Throughput (workflows/s) | concurrent | no-op ceiling | no-op ceiling, six steps | bare workflow | saga | saga / ceiling | saga / six-step ceiling | six-step / five-step ceiling | saga / bare |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...measured.flatMap((mode) =>
      (mode.throughput ?? []).map(
        (t) =>
          `| ${mode.mode} | ${t.concurrency} (${t.workflows} each) | ${spread(t.ceiling)} | ${t.ceilingSix ? spread(t.ceilingSix) : '–'} | ${spread(t.bare)} | ${spread(t.saga)} | ${t.sagaPerCeiling} | ${orDash(t.sagaPerCeilingSix)} | ${orDash(t.ceilingSixPerCeiling)} | ${t.sagaPerBare} |`,
      ),
    ),
    '',
    ...cpuSection(measured),
    'Where the time goes at 1 concurrent: start → result (p50), and the medians of each component from the ' +
      'workflow histories (queue: scheduled → picked up by a worker; run: picked up → completed; other: ' +
      'between one task’s completion and the next one’s scheduling). A run cell reads “total (tasks × ms per task)”: ' +
      'the per-task figure compares workflows that take different numbers of steps.',
    '',
    '| mode | workload | p50 (ms) | history total | workflow-task queue | workflow-task run | activity queue | activity run | other |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...measured.flatMap((mode) => breakdownRows(mode)),
    '',
    `| Read path (ms), ${result.modes.find((x) => x.readPath)?.readPath?.readers ?? 50} concurrent readers | API p50 | API p99 | bare Temporal p50 | p99 | p99 ratio |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...measured.flatMap((mode) => {
      const rp = mode.readPath;
      if (!rp) return [];
      const row = (what: string, c: typeof rp.finished, direct: string) =>
        `| ${mode.mode}: ${what} vs ${direct} | ${c.api.p50} | ${c.api.p99} | ${c.direct.p50} | ${c.direct.p99} | ${c.ratioP99} |`;
      return [
        row(`GET /sagas/{id}, finished (${rp.finished.sagas} sagas)`, rp.finished, 'describe'),
        row(`GET /sagas/{id}, running (${rp.running.sagas} sagas)`, rp.running, 'describe'),
        row('GET /sagas?pageSize=100', rp.list, 'listWorkflowExecutions'),
        ...partRows('finished', rp.finishedParts ?? {}),
        ...partRows('running', rp.runningParts ?? {}),
      ];
    }),
    '',
    ...primarySections(result),
  ];
  return lines.join('\n');
}

/** The parts of bench/cpu.ts in the order of a saga's path, then the rest; `*` is where unnamed parts go. */
const CPU_ORDER = [
  ...['api', 'temporal', 'orchestrator', 'ceiling', 'orders', 'inventory', 'payments', 'shipments'],
  '*',
  ...['postgres', 'nats', 'bench', 'other'],
];
const cpuRank = (part: string) => CPU_ORDER.indexOf(CPU_ORDER.includes(part) ? part : '*');

/**
 * CPU per workflow at the highest concurrency: with the cores saturated, throughput is cores / this sum,
 * so the difference between the ceiling's column and the saga's is what the saga must cut to reach it.
 */
function cpuSection(modes: ModeResult[]): string[] {
  const rows = modes.flatMap((mode) => {
    const top = mode.throughput?.at(-1);
    if (!top?.cpuMsPerWorkflow) return [];
    const c = top.cpuMsPerWorkflow;
    const kinds = kindsIn(c);
    const parts = [...new Set(kinds.flatMap((kind) => Object.keys(c[kind])))].sort(
      (a, b) => cpuRank(a) - cpuRank(b),
    );
    const cell = (kind: (typeof KINDS)[number], part: string) =>
      kinds.includes(kind) ? r1(c[kind][part] ?? 0) : '–';
    return [
      ...parts.map((part) => `| ${mode.mode} | ${part} | ${KINDS.map((k) => cell(k, part)).join(' | ')} |`),
      `| ${mode.mode} | **total** (cores busy) | ${KINDS.map((k) => (kinds.includes(k) ? `**${r1(cpuTotal(c[k]))}** (${top.coresBusy[k]})` : '–')).join(' | ')} |`,
    ];
  });
  if (rows.length === 0) return [];
  return [
    'CPU per workflow at the highest concurrency (ms of user + system time, from /proc, over all repetitions), by ' +
      'part of the stack: the Temporal server, each worker process, the machine’s PostgreSQL (every backend), the ' +
      'bench’s NATS, the bench process itself (its clients, the traces receiver) and the rest of the machine.',
    '',
    `| mode | part | ${KINDS.map((k) => KIND_LABELS[k]).join(' | ')} |`,
    `| --- | --- | ${KINDS.map(() => '---').join(' | ')} |`,
    ...rows,
    '',
  ];
}

const PART_LABELS: Record<string, string> = {
  query: 'the state query',
  closeEvent: 'the close-event read',
  describeAndCloseEvent: 'describe and the close-event read together (the GET without the API)',
};

/** The read path's Temporal calls timed alone under the same readers (bench/read-path.ts). */
function partRows(what: string, parts: Record<string, ReadPart>): string[] {
  return Object.entries(parts).map(
    ([name, part]) =>
      `| ${what}: ${PART_LABELS[name] ?? name} alone (${part.failures} failed) | ${part.latency.p50} | ${part.latency.p99} | | | |`,
  );
}

/** A breakdown's total of one kind of task, with its count and the time per task when the result has them. */
function perTask(totalMs: number, count: number | undefined): string {
  return count ? `${r1(totalMs)} (${count} × ${r1(totalMs / count)})` : r1(totalMs);
}

function breakdownRows(mode: ModeResult): string[] {
  const l = mode.latencyAt1;
  const b = mode.breakdownMs;
  if (!l || !b) return [];
  const rows = kindsIn(b).map((kind) => {
    const c = b[kind];
    return `| ${mode.mode} | ${KIND_LABELS[kind]} | ${l[kind].p50} | ${r1(c.total)} | ${r1(c.workflowTaskQueue)} | ${perTask(c.workflowTaskRun, c.workflowTasks)} | ${r1(c.activityQueue)} | ${perTask(c.activityRun, c.activities)} | ${r1(c.other)} |`;
  });
  rows.push(
    `| ${mode.mode} | steps’ own time (saga activity run − ceiling activity run) | | | | | | ${r1(stepsOwnTimeMs(mode) ?? Number.NaN)} | |`,
  );
  return rows;
}

function primarySections(result: BenchResult): string[] {
  const lines: string[] = [];
  const e = result.endToEnd;
  if (e) {
    lines.push(
      `API latencies and worker memory, measured in ${result.primaryMode} only:`,
      '',
      '| End-to-end latency, API accepted → final (ms) | p50 | p95 | p99 |',
      '| --- | --- | --- | --- |',
      `| happy path (${e.happy.samples} sagas) | ${e.happy.p50} | ${e.happy.p95} | ${e.happy.p99} |`,
      `| compensation path, last step fails (${e.compensation.samples} sagas) | ${e.compensation.p50} | ${e.compensation.p95} | ${e.compensation.p99} |`,
      `| ratio compensation / happy (target ≤ 1.2) | ${e.ratioP50} (${verdict(e.ratioP50 <= 1.2)}) | ${e.ratioP95} | |`,
      `| compensation path, parallel compensation (${e.parallelCompensation.samples} sagas) | ${e.parallelCompensation.p50} | ${e.parallelCompensation.p95} | ${e.parallelCompensation.p99} |`,
      `| ratio parallel compensation / happy | ${e.parallelRatioP50} (${verdict(e.parallelRatioP50 <= 1.2)}) | ${e.parallelRatioP95} | |`,
      '',
    );
  }
  if (result.apiStartLatency) {
    lines.push(
      '| Start latency (ms) | API p50 | API p99 | client.workflow.start p50 | p99 | p99 ratio (target ≤ 1.2) |',
      '| --- | --- | --- | --- | --- | --- |',
      ...result.apiStartLatency.map(
        (a) =>
          `| ${a.clients} clients | ${a.api.p50} | ${a.api.p99} | ${a.direct.p50} | ${a.direct.p99} | ${a.ratioP99} (${verdict(a.ratioP99 <= 1.2)}) |`,
      ),
      '',
    );
  }
  const mem = result.memory;
  if (mem) {
    lines.push(
      `| Worker RSS (MiB) | after 100 sagas | after ${mem.sagas} | growth (target ≤ 10 %) |`,
      '| --- | --- | --- | --- |',
      ...Object.keys(mem.after100MiB).map(
        (k) =>
          `| ${k} | ${mem.after100MiB[k]} | ${mem.afterAllMiB[k]} | ${mem.growthPercent[k]} % (${verdict((mem.growthPercent[k] ?? 0) <= 10)}) |`,
      ),
      '',
    );
  }
  return lines;
}

export async function renderChart(result: BenchResult): Promise<string> {
  const vega = await import('vega');
  // vega-lite ships ES modules only, typed for node16 resolution: load it untyped.
  const vl = (await import('vega-lite' as string)) as { compile(spec: unknown): { spec: unknown } };
  const values = result.modes.flatMap((mode) =>
    (mode.throughput ?? []).flatMap((t) =>
      kindsIn(t).map((kind) => ({
        mode: mode.mode,
        concurrency: String(t.concurrency),
        kind: KIND_LABELS[kind],
        perSecond: t[kind]?.median,
      })),
    ),
  );
  const { spec } = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Complete workflows per second (median): no-op ceilings, bare workflow, saga',
    data: { values },
    facet: { column: { field: 'mode', type: 'nominal', title: null, sort: result.modes.map((x) => x.mode) } },
    spec: {
      width: 220,
      height: 220,
      mark: 'bar',
      encoding: {
        x: { field: 'concurrency', type: 'nominal', title: 'concurrent workflows', sort: ['1', '10', '50'] },
        xOffset: { field: 'kind', sort: Object.values(KIND_LABELS) },
        y: { field: 'perSecond', type: 'quantitative', title: 'workflows / s' },
        color: { field: 'kind', type: 'nominal', title: null, sort: Object.values(KIND_LABELS) },
      },
    },
  });
  const view = new vega.View(vega.parse(spec as never), { renderer: 'none' });
  return view.toSVG();
}
