/**
 * `npm run bench:tasks`: how long each workflow task runs and waits for a worker, by its position in the
 * workflow, for the six-step no-op ceiling, the bare workflow and the saga (issue 15's happy-path goal: the saga's tasks are
 * where it exceeds the ceiling). One workflow of each kind in turn, at 1 concurrent, on one bench stack, so
 * the kinds share the machine's drift; medians over the histories. Writes bench/results/task-times.md.
 * Options: --mode (dev-memory), --count N per kind (20), --set KEY=VALUE (repeatable: an environment
 * variable for the stack's workers and API, for an A/B of one setting against a run without it).
 */
import { parseArgs } from 'node:util';
import { workflowTaskTimesByIndex } from './breakdown';
import { writeMarkdownReport } from './markdown-report';
import { benchModeOption, wholeNumberOption } from './options';
import { startBenchStack } from './stack';
import { median, round } from './stats';
import { KIND_LABELS, type Kind } from './throughput';
import { kindRunners } from './workloads';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'dev-memory' },
    count: { type: 'string', default: '20' },
    set: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: 'bench/results/task-times' },
  },
});
const log = (line: string) => process.stderr.write(`${line}\n`);
/** The saga, the bare workflow and the ceiling of the saga's length. */
const KINDS_TIMED: readonly Kind[] = ['ceilingSix', 'bare', 'saga'];

function parseSettings(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--set takes KEY=VALUE, not ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

async function main(): Promise<void> {
  const mode = benchModeOption(args.mode);
  const count = wholeNumberOption('--count', args.count);
  const overrides = parseSettings(args.set);
  const stack = await startBenchStack({ mode, databasePrefix: 'bench_tasks_', log, overrides });
  try {
    const runners = kindRunners(stack);
    const ids = new Map<Kind, string[]>(KINDS_TIMED.map((kind) => [kind, []]));
    // Warm-up: the workers' first workflows load code and open connections.
    for (let i = 0; i < 10; i++) for (const kind of KINDS_TIMED) await runners[kind]();
    for (let i = 0; i < count; i++)
      for (const kind of KINDS_TIMED) ids.get(kind)?.push(await runners[kind]());
    const between = (values: number[]) => round(median(values.slice(1, -1)), 1);
    const rows: string[] = [];
    for (const [kind, workflowIds] of ids) {
      const { wait, run } = await workflowTaskTimesByIndex(stack.client, workflowIds);
      rows.push(
        `| ${KIND_LABELS[kind]} | ${run.join(' · ')} | ${between(run)} | ${wait.join(' · ')} | ${between(wait)} |`,
      );
    }
    const settings = Object.entries(overrides).map(([k, v]) => `${k}=${v}`);
    writeMarkdownReport(args.out, {
      intro: [
        `# Workflow task run times by position (${mode}, ${count} of each kind, 1 concurrent)`,
        '',
        `Measured ${new Date().toISOString()}${settings.length ? ` with ${settings.join(', ')}` : ''}.`,
        'Milliseconds from the history, median by position: how long each task ran (started → completed) and',
        'waited for a worker (scheduled → started); “between” is the median of the tasks between the first',
        'and the last (one activity result each).',
      ],
      header: ['kind', 'run, each task (ms)', 'run, between', 'wait, each task (ms)', 'wait, between'],
      rows,
    });
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench:tasks failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
