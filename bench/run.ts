/**
 * `npm run bench`: how fast a saga is on this machine, in each Temporal mode (bench/modes.ts), each figure
 * against baselines measured in the same run on the same stack: the no-op ceiling (bench/ceiling) and the
 * bare workflow (workflows/baseline.ts). Writes bench/results/latest.{json,md,svg}.
 * Options: --modes dev-memory,dev-file,dev-file-untraced,cluster (default all, in that order), --quick
 * (smaller counts), --reps N (default 3; 1 with --quick), --memory-sagas N (default 2000), --db-prefix P (default saga_bench_),
 * --only read-path (only the read path, after a warm-up: writes bench/results/read-path.{json,md}),
 * --render (no measurement: the goals and the report again from bench/results/latest.json's samples).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { timeBreakdown } from './breakdown';
import { computeGoals } from './goals';
import { apiStartLatency, endToEnd } from './latency';
import { BENCH_MODES, MODE_LABELS, type BenchMode } from './modes';
import { measureReadPath } from './read-path';
import { renderChart, renderMarkdown } from './report';
import type { BenchResult, EndToEnd, MemoryGrowth, ModeResult, StartLatency } from './result';
import { startBenchStack, type BenchStack } from './stack';
import { round, runConcurrently } from './stats';
import { measureThroughput } from './throughput';
import { kindRunners, runWorkflow } from './workloads';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    modes: { type: 'string', default: BENCH_MODES.join(',') },
    reps: { type: 'string' },
    'memory-sagas': { type: 'string' },
    'db-prefix': { type: 'string', default: 'saga_bench_' },
    only: { type: 'string' },
    render: { type: 'boolean', default: false },
  },
});
const ONLY = ['read-path'] as const;
const only = args.only as (typeof ONLY)[number] | undefined;
const quick = args.quick ?? false;
const reps = Number(args.reps ?? (quick ? 1 : 3));
const modes = (args.modes ?? '').split(',').map((m) => m.trim()) as BenchMode[];
const unknownMode = modes.find((m) => !BENCH_MODES.includes(m));
const databasePrefix = args['db-prefix'] ?? 'saga_bench_';
// 10,000 sagas take about 17 minutes on a 2-core machine; the default keeps the whole run near 35.
const memorySagas = Number(args['memory-sagas'] ?? (quick ? 500 : 2_000));
const log = (line: string) => console.log(`[bench] ${line}`);

/**
 * Workflows per run of each workload, by concurrency, from the saga's rate at 10 concurrent in the warm-up,
 * so a slow mode does not take three times as long: about 8 s per run at 10 and 12 s at 50, but at 50 at
 * least two waves of 50 (fewer would measure one burst, not a steady rate). The same count for the three
 * workloads of a level, so their ratio compares like with like.
 */
function throughputCounts(sagasPerSecondAt10: number): Record<number, number> {
  if (quick) return { 1: 5, 10: 20, 50: 50 };
  const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(value)));
  return {
    1: 10,
    10: clamp(sagasPerSecondAt10 * 8, 30, 60),
    50: clamp(sagasPerSecondAt10 * 1.3 * 12, 100, 150),
  };
}
const READ = quick
  ? { finished: 100, running: 50, requests: 100, listRequests: 50, readers: 50 }
  : { finished: 250, running: 100, requests: 300, listRequests: 150, readers: 50 };
const E2E_SAGAS = quick ? 36 : 90;
const START_COUNTS: Record<number, number> = quick ? { 1: 12, 10: 30, 50: 50 } : { 1: 40, 10: 100, 50: 150 };
/** Workflows at 1 concurrent whose histories make the breakdown. */
const BREAKDOWN_SAMPLES = 20;

interface PrimarySections {
  endToEnd: EndToEnd;
  apiStartLatency: StartLatency[];
  memory: MemoryGrowth;
}

/** Runs more sagas until `memorySagas` sagas ran in all, and compares worker RSS with the first snapshot. */
async function memory(stack: BenchStack, after100: Record<string, number>): Promise<MemoryGrowth> {
  const { count: done } = await stack.client.workflow.count(`WorkflowType = 'orderSaga'`);
  const rest = Math.max(0, memorySagas - done);
  const start = performance.now();
  await runConcurrently(rest, 50, async () => {
    await runWorkflow(stack, 'orderSaga');
  });
  log(`memory run: ${rest} more sagas in ${round((performance.now() - start) / 1000)} s`);
  const afterAll = stack.workerRssMiB();
  const growth = Object.fromEntries(
    Object.keys(after100).map((k) => [
      k,
      round(((afterAll[k] as number) / (after100[k] as number) - 1) * 100, 1),
    ]),
  );
  return {
    sagas: Math.max(memorySagas, done),
    after100MiB: after100,
    afterAllMiB: afterAll,
    growthPercent: growth,
  };
}

/** Every measurement of one mode; what was measured before a failure is kept in `result`. */
async function measureMode(
  stack: BenchStack,
  result: ModeResult,
  primary: boolean,
): Promise<PrimarySections | undefined> {
  const runners = kindRunners(stack);
  if (only === 'read-path') {
    log(`${stack.mode}: warm-up, then ${READ.finished} finished sagas to read...`);
    await runConcurrently(20, 10, async () => {
      await runners.saga();
    });
    const finished: string[] = [];
    await runConcurrently(READ.finished, 50, async () => {
      finished.push(await runners.saga());
    });
    result.readPath = await measureReadPath(stack, finished, { ...READ, reps }, log);
    return undefined;
  }
  log(`${stack.mode}: warm-up...`);
  await runConcurrently(primary ? 70 : 20, 10, async () => {
    await runners.saga();
  });
  const timed = performance.now();
  await runConcurrently(30, 10, async () => {
    await runners.saga();
  });
  const counts = throughputCounts(30 / ((performance.now() - timed) / 1000));
  const after100 = stack.workerRssMiB();
  for (const kind of ['bare', 'ceiling', 'ceilingSix'] as const)
    await runConcurrently(30, 10, async () => {
      await runners[kind]();
    });

  const cpuRoots = () => ({
    ...Object.fromEntries(stack.workers.map((w) => [w.name, w.child.pid ?? -1])),
    ceiling: stack.ceiling.pid,
    api: stack.api.process.child.pid ?? -1,
  });
  const throughput = await measureThroughput(runners, counts, reps, log, cpuRoots);
  result.throughput = throughput.rows;
  result.latencyAt1 = throughput.latencyAt1;
  const sample = (ids: string[]) => ids.slice(-BREAKDOWN_SAMPLES);
  result.breakdownMs = {
    ceiling: await timeBreakdown(stack.client, sample(throughput.idsAt1.ceiling)),
    ceilingSix: await timeBreakdown(stack.client, sample(throughput.idsAt1.ceilingSix)),
    bare: await timeBreakdown(stack.client, sample(throughput.idsAt1.bare)),
    saga: await timeBreakdown(stack.client, sample(throughput.idsAt1.saga)),
  };
  log(`${stack.mode}: breakdown (median ms) ${JSON.stringify(result.breakdownMs)}`);

  // Enough finished sagas to read: the throughput's own, topped up if a quick run made fewer.
  const finished = throughput.sagaIds.slice(-READ.finished);
  await runConcurrently(READ.finished - finished.length, 50, async () => {
    finished.push(await runners.saga());
  });
  result.readPath = await measureReadPath(stack, finished, { ...READ, reps }, log);
  if (!primary) return undefined;

  const e2e = await endToEnd(stack, E2E_SAGAS, reps, log);
  const startLatency = await apiStartLatency(stack, START_COUNTS, reps, log);
  return { endToEnd: e2e, apiStartLatency: startLatency, memory: await memory(stack, after100) };
}

async function main(): Promise<void> {
  if (unknownMode !== undefined || modes.length === 0)
    throw new Error(`--modes: ${unknownMode ?? '(none)'} is not one of ${BENCH_MODES.join(', ')}`);
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps: a whole number ≥ 1');
  if (only !== undefined && !ONLY.includes(only))
    throw new Error(`--only: ${only} is not one of ${ONLY.join(', ')}`);
  const began = Date.now();
  const results: ModeResult[] = [];
  let primary: PrimarySections | undefined;
  for (const [index, mode] of modes.entries()) {
    const modeBegan = Date.now();
    const result: ModeResult = {
      mode,
      label: MODE_LABELS[mode],
      temporal: {},
      startSeconds: 0,
      durationSeconds: 0,
    };
    results.push(result);
    log(`${mode}: starting the stack (${MODE_LABELS[mode]}, databases, workers, ceiling workers, API)...`);
    let stack: BenchStack | undefined;
    try {
      stack = await startBenchStack({ mode, databasePrefix, log: (line) => log(`${mode}: ${line}`) });
      result.temporal = stack.temporalSettings;
      result.startSeconds = Math.round((Date.now() - modeBegan) / 1000);
      const sections = await measureMode(stack, result, index === 0);
      if (sections) primary = sections;
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error);
      log(`${mode} failed: ${result.error}`);
    } finally {
      await stack?.stop();
      result.durationSeconds = Math.round((Date.now() - modeBegan) / 1000);
      log(`${mode}: done in ${result.durationSeconds} s`);
    }
  }

  const anyStack = results.find((r) => r.throughput);
  const result: BenchResult = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    settings: {
      repetitions: reps,
      quick,
      modes,
      readPath: READ,
      payloadEncryption: 'on (saga and bare workflow); off for the ceiling',
      ...(anyStack ? {} : { note: 'no mode was measured' }),
    },
    goals: computeGoals(results, primary?.memory),
    modes: results,
    primaryMode: modes[0] as BenchMode,
    ...(primary ?? {}),
    durationSeconds: Math.round((Date.now() - began) / 1000),
  };
  await writeResult(result, only ?? 'latest');
  log(
    `done in ${result.durationSeconds} s: bench/results/${only ?? 'latest'}.{json,md${only ? '' : ',svg'}}`,
  );
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) throw new Error(`${failed.map((r) => r.mode).join(', ')} failed (see the report)`);
}

const RESULTS_DIR = path.resolve(__dirname, 'results');

/** Writes a run's json and report; a partial run (--only) has its own and leaves the full one as it is. */
async function writeResult(result: BenchResult, name: string): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, `${name}.md`), renderMarkdown(result));
  if (name === 'latest') writeFileSync(path.join(RESULTS_DIR, 'latest.svg'), await renderChart(result));
}

/** The goals and the report of the last full run again from its samples (after a change to either). */
async function render(): Promise<void> {
  // It writes latest.*: a flag that selects what a run measures or where it writes would be ignored.
  if (args.only !== undefined || args.quick || args.reps !== undefined || args['memory-sagas'] !== undefined)
    throw new Error('--render takes no other option: it renders bench/results/latest.json as it is');
  const result = JSON.parse(readFileSync(path.join(RESULTS_DIR, 'latest.json'), 'utf8')) as BenchResult;
  result.goals = computeGoals(result.modes, result.memory);
  result.renderedAt = new Date().toISOString();
  await writeResult(result, 'latest');
  log(`bench/results/latest.{json,md,svg} rendered again from the run of ${result.generatedAt}`);
}

(args.render ? render() : main()).catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
