/**
 * `npm run bench:profile`: where each worker's CPU goes while sagas run. Starts the bench stack with every
 * worker's inspector open, warms it up, then profiles every isolate (each worker's main thread and the
 * orchestrator's workflow thread) with V8's sampling profiler over N sagas at C concurrent. Writes each
 * profile as a `.cpuprofile` (open it in Chrome DevTools' Performance panel, or speedscope) to a
 * temporary directory, and bench/results/profile.md: each worker's CPU per saga while profiled (from /proc,
 * all its threads) and each isolate's sampled time split by where the code comes from (bench/cpu-profile.ts).
 * The profiler slows what it measures: read the splits, and take CPU per saga from `npm run bench`.
 * Options: --mode (default dev-file, as `npm start` runs it, traces on), --sagas N (200), --concurrency C
 * (10), --interval µs between samples (500), --top N origins per isolate (8), --out <path without extension>.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './cpu';
import { summarizeProfile } from './cpu-profile';
import { ProcessInspector } from './heap';
import { writeMarkdownReport } from './markdown-report';
import { MODE_LABELS } from './modes';
import { benchModeOption, wholeNumberOption } from './options';
import { startBenchStack } from './stack';
import { round, runConcurrently } from './stats';
import { runWorkflow } from './workloads';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'dev-file' },
    sagas: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '10' },
    interval: { type: 'string', default: '500' },
    top: { type: 'string', default: '8' },
    out: { type: 'string', default: 'bench/results/profile' },
  },
});
const log = (line: string) => process.stderr.write(`[bench:profile] ${line}\n`);
const WARM_UP = 20;

async function main(): Promise<void> {
  const mode = benchModeOption(args.mode);
  const sagas = wholeNumberOption('--sagas', args.sagas);
  const concurrency = wholeNumberOption('--concurrency', args.concurrency);
  const intervalUs = wholeNumberOption('--interval', args.interval);
  const top = wholeNumberOption('--top', args.top);
  const stack = await startBenchStack({ mode, databasePrefix: 'bench_profile_', log, inspectWorkers: true });
  const profiled: { name: string; pid: number; inspector: ProcessInspector }[] = [];
  try {
    for (let i = 0; i < WARM_UP; i++) await runWorkflow(stack, 'orderSaga');
    for (const { name, child } of stack.workers) {
      const inspector = await ProcessInspector.connect(stack.workerInspectPorts[name] as number);
      profiled.push({ name, pid: child.pid ?? -1, inspector });
    }
    for (const { inspector } of profiled) await inspector.startProfiling(intervalUs);
    const cpuAtStart = profiled.map(({ pid }) => cpuSeconds(pid));
    const began = performance.now();
    await runConcurrently(sagas, concurrency, async () => {
      await runWorkflow(stack, 'orderSaga');
    });
    const seconds = (performance.now() - began) / 1000;
    // Read before any profiler stops: stopping one takes a while, and the others' clocks run meanwhile.
    const cpuMsPerSaga = profiled.map(({ pid }, i) =>
      round(((cpuSeconds(pid) - (cpuAtStart[i] ?? 0)) * 1000) / sagas),
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'saga-profiles-'));
    const rows: string[] = [];
    for (const [i, { name: worker, inspector }] of profiled.entries()) {
      const cpuMs = cpuMsPerSaga[i];
      for (const [isolate, profile] of Object.entries(await inspector.stopProfiling())) {
        const file = path.join(dir, `${worker}-${isolate.replace(/\W+/g, '-')}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        const summary = summarizeProfile(profile);
        // A thread with next to nothing sampled (a logger's transport thread) says nothing.
        if (summary.sampledMs / sagas < 1) continue;
        const origins = summary.byOrigin
          .slice(0, top)
          .map((o) => `${o.origin} ${round(o.share * 100)} %`)
          .join(' · ');
        rows.push(
          `| ${worker} | ${isolate === 'main' ? `${cpuMs} (all threads)` : ''} | ${isolate} | ${round(summary.sampledMs / sagas)} | ${origins} |`,
        );
      }
    }
    writeMarkdownReport(args.out, {
      intro: [
        `# Where the workers' CPU goes (${MODE_LABELS[mode]})`,
        '',
        `Measured ${new Date().toISOString()} with \`npm run bench:profile -- --mode ${mode} --sagas ${sagas} --concurrency ${concurrency}\`: ` +
          `${sagas} sagas in ${round(seconds)} s while every isolate was sampled each ${intervalUs} µs (the profiler ` +
          `slows them: take CPU per saga from \`npm run bench\`). A worker's CPU is its process's, from /proc; an ` +
          `isolate's sampled time is wall time, every sample but the idle ones, so it includes waiting for a core ` +
          `and, in a worker thread, its waits. Self time by origin, as shares of the sampled time; native is code ` +
          `without a script (V8's own, Node's bindings, the Temporal core bridge). The profiles were written to ${dir}.`,
      ],
      header: [
        'worker',
        'CPU ms per saga, profiled',
        'isolate',
        'sampled ms per saga',
        'self time by origin',
      ],
      rows,
    });
  } finally {
    for (const { inspector } of profiled) await inspector.close().catch(() => undefined);
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
