/**
 * `npm run bench`: how fast a saga is on this machine, each figure against a baseline measured in the same
 * run on the same Temporal server and databases. Writes bench/results/latest.{json,md,svg}.
 * Options: --quick (smaller counts), --memory-sagas N (default 2000), --reps N (default 3), --persistent
 * (Temporal on its SQLite file instead of in memory).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startApiServer } from '../api/server';
import { timeBreakdown } from './breakdown';
import { renderChart, renderMarkdown, type BenchResult } from './report';
import { startBenchStack, type BenchStack } from './stack';
import { quantile, round, runConcurrently, summarize } from './stats';
import { benchOrder, postSaga, runWorkflow, startWorkflow } from './workloads';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    persistent: { type: 'boolean', default: false },
    reps: { type: 'string', default: '3' },
    'memory-sagas': { type: 'string' },
  },
});
const quick = args.quick ?? false;
const reps = Number(args.reps);
// 10,000 sagas take about 17 minutes on a 2-core machine; the default keeps the whole run under 15.
const memorySagas = Number(args['memory-sagas'] ?? (quick ? 500 : 2_000));
const scale = quick ? 0.3 : 1;
const n = (count: number) => Math.max(5, Math.round(count * scale));
const log = (line: string) => console.log(`[bench] ${line}`);

async function throughput(stack: BenchStack) {
  const levels = [1, 10, 50];
  const counts: Record<number, number> = { 1: n(20), 10: n(100), 50: n(200) };
  const rows = [];
  for (const concurrency of levels) {
    const saga: number[] = [];
    const bare: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      // Alternate which goes first, so drift on a shared machine does not favour one side.
      const order = rep % 2 === 0 ? (['saga', 'bare'] as const) : (['bare', 'saga'] as const);
      for (const kind of order) {
        const total = counts[concurrency] as number;
        const start = performance.now();
        await runConcurrently(total, concurrency, () =>
          runWorkflow(stack, kind === 'saga' ? 'orderSaga' : 'bareOrderWorkflow'),
        );
        const perSecond = total / ((performance.now() - start) / 1000);
        (kind === 'saga' ? saga : bare).push(perSecond);
      }
    }
    const s = summarize(saga);
    const b = summarize(bare);
    log(`throughput c=${concurrency}: saga ${round(s.median)}/s, bare ${round(b.median)}/s`);
    rows.push({ concurrency, saga: s, bare: b, ratio: round(s.median / b.median, 3) });
  }
  return rows;
}

async function endToEnd(stack: BenchStack) {
  const total = n(120);
  const paths = { happy: [] as number[], compensation: [] as number[], parallel: [] as number[] };
  // The same API, but starting sagas that compensate in parallel (SAGA_COMPENSATION_MODE=parallel).
  const parallelApi = await startApiServer(
    { ...stack.config, API_PORT: 0, SAGA_COMPENSATION_MODE: 'parallel' },
    pino({ level: 'silent' }),
  );
  const kinds = ['happy', 'compensation', 'parallel'] as const;
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of rep % 2 === 0 ? kinds : [...kinds].reverse()) {
      // Compensation path: the last step fails (an account on hold), so all three compensations run.
      const order = kind === 'happy' ? benchOrder() : benchOrder('hold-bench');
      const target = kind === 'parallel' ? { ...stack, api: parallelApi } : stack;
      const durations = await runConcurrently(Math.ceil(total / reps), 10, async () => {
        const res = await postSaga(target, order, 30);
        const expected = kind === 'happy' ? 'COMPLETED' : 'COMPENSATED';
        if (res.status !== expected) throw new Error(`saga ended ${res.status}, expected ${expected}`);
      });
      paths[kind].push(...durations);
    }
  }
  await parallelApi.close();
  const pct = (v: number[]) => ({
    p50: round(quantile(v, 0.5)),
    p95: round(quantile(v, 0.95)),
    p99: round(quantile(v, 0.99)),
    samples: v.length,
  });
  const happy = pct(paths.happy);
  const compensation = pct(paths.compensation);
  const parallel = pct(paths.parallel);
  log(`e2e p50: happy ${happy.p50} ms, compensation ${compensation.p50} ms, parallel ${parallel.p50} ms`);
  return {
    happy,
    compensation,
    parallelCompensation: parallel,
    ratioP50: round(compensation.p50 / happy.p50, 3),
    ratioP95: round(compensation.p95 / happy.p95, 3),
    parallelRatioP50: round(parallel.p50 / happy.p50, 3),
    parallelRatioP95: round(parallel.p95 / happy.p95, 3),
  };
}

async function apiStartLatency(stack: BenchStack) {
  const rows = [];
  for (const clients of [1, 10, 50]) {
    const api: number[] = [];
    const direct: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      for (const kind of rep % 2 === 0 ? (['api', 'direct'] as const) : (['direct', 'api'] as const)) {
        const durations = await runConcurrently(
          n(clients === 1 ? 40 : clients === 10 ? 100 : 150),
          clients,
          async () => {
            if (kind === 'api') await postSaga(stack, benchOrder());
            else await startWorkflow(stack.client, stack, 'orderSaga');
          },
        );
        (kind === 'api' ? api : direct).push(...durations);
      }
    }
    const row = {
      clients,
      api: { p50: round(quantile(api, 0.5), 2), p99: round(quantile(api, 0.99), 2) },
      direct: { p50: round(quantile(direct, 0.5), 2), p99: round(quantile(direct, 0.99), 2) },
    };
    log(`start latency ${clients} clients: API p99 ${row.api.p99} ms, direct p99 ${row.direct.p99} ms`);
    rows.push({ ...row, ratioP99: round(row.api.p99 / row.direct.p99, 3) });
    await drain(stack);
  }
  return rows;
}

/** Waits until the sagas started without waiting have finished, so they do not load the next measurement. */
async function drain(stack: BenchStack): Promise<void> {
  for (;;) {
    const { count } = await stack.client.workflow.count(`ExecutionStatus = 'Running'`);
    if (count === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Runs more sagas until `memorySagas` workflows ran in all, and compares worker RSS with the first snapshot. */
async function memory(stack: BenchStack, after100: Record<string, number>) {
  const { count: done } = await stack.client.workflow.count('');
  const rest = Math.max(0, memorySagas - done);
  const start = performance.now();
  await runConcurrently(rest, 50, () => runWorkflow(stack, 'orderSaga'));
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

async function main(): Promise<void> {
  const began = Date.now();
  log('starting the stack (Temporal dev server, databases, 4 workers, API)...');
  const stack = await startBenchStack(args.persistent ?? false);
  try {
    log('warm-up...');
    await runConcurrently(100, 10, () => runWorkflow(stack, 'orderSaga'));
    const after100 = stack.workerRssMiB();
    await runConcurrently(n(60), 10, () => runWorkflow(stack, 'bareOrderWorkflow'));

    const throughputRows = await throughput(stack);
    const e2e = await endToEnd(stack);
    const startLatency = await apiStartLatency(stack);

    const sample = [];
    for (let i = 0; i < 20; i++) {
      const handle = await startWorkflow(stack.client, stack, 'orderSaga');
      await handle.result();
      sample.push(handle.workflowId);
    }
    const breakdown = await timeBreakdown(stack.client, sample);
    log(`breakdown (median ms): ${JSON.stringify(breakdown)}`);

    const mem = await memory(stack, after100);

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
        temporalStore: args.persistent ? 'sqlite file' : 'sqlite in memory',
        workerMaxConcurrentActivities: stack.config.WORKER_MAX_CONCURRENT_ACTIVITIES,
        workerMaxConcurrentWorkflowTasks: stack.config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
        databasePoolSize: stack.config.DATABASE_POOL_SIZE,
      },
      throughput: throughputRows,
      endToEnd: e2e,
      apiStartLatency: startLatency,
      memory: mem,
      breakdownMs: breakdown,
      durationSeconds: Math.round((Date.now() - began) / 1000),
    };
    const dir = path.resolve(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(path.join(dir, 'latest.md'), renderMarkdown(result));
    writeFileSync(path.join(dir, 'latest.svg'), await renderChart(result));
    log(`done in ${result.durationSeconds} s: bench/results/latest.{json,md,svg}`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
