/**
 * `npm run chaos -- --sagas N --fault-rate P [--rate R] [--concurrency C] [--seed S] [--scripted]
 * [--database-prefix saga_chaos_] [--temporal-mode dev|cluster]`: a chaos run against a stack it starts itself, with the shipped saga
 * settings. Writes tools/chaos/results/latest.{json,md}; exits 1 if any saga was lost, any invariant
 * violated, any saga compensated that would have completed without the faults, or any domain event is
 * not on the stream exactly once and in order.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos, type ChaosReport } from './run';

function markdown(r: ChaosReport): string {
  return [
    `Chaos run${r.options.temporalMode === 'cluster' ? ' (Temporal cluster mode)' : ''}: ${r.started} sagas, concurrency ${r.options.concurrency}, ${r.options.scripted ? 'scripted faults' : `fault rate ${r.options.faultRate}/s, ${r.options.ratePerSecond ?? 2} sagas/s`}, seed ${r.options.seed}, ${r.durationSeconds} s; shipped saga settings.`,
    '',
    '| sagas | count |',
    '| --- | --- |',
    `| started | ${r.started} |`,
    `| completed | ${r.completed} |`,
    `| compensated | ${r.compensated} (of which cancelled by the run: ${r.cancelled}) |`,
    `| parked | ${r.parked} |`,
    `| **lost** (must be 0) | **${r.lost}** |`,
    `| **invariant violations** (must be 0) | **${r.violations.length}** |`,
    `| **compensated that would have completed without the faults** (must be 0) | **${r.compensatedWouldHaveCompleted.length}** |`,
    ...(r.undetermined.length ? [`| undetermined (not counted) | ${r.undetermined.length} |`] : []),
    `| domain events: outbox rows / published / on the stream | ${r.events.rows} / ${r.events.published} / ${r.events.onStream} |`,
    `| **domain events not on the stream exactly once, in order** (must be 0) | **${r.events.problems.length}** |`,
    '',
    '| fault injected | count |',
    '| --- | --- |',
    ...Object.entries(r.faults).map(([k, v]) => `| ${k} | ${v} |`),
    `| worker restarts (by the supervisor) | ${r.workerRestarts} |`,
    ...(r.faultErrors.length ? ['', ...r.faultErrors.map((e) => `- FAULT NOT CARRIED OUT ${e}`)] : []),
    '',
    '| fault timeline | began at (s) | lasted (s) |',
    '| --- | --- | --- |',
    ...r.faultLog.map((f) => `| ${f.fault} | ${f.at} | ${f.seconds} |`),
    '',
    ...r.violations.map((v) => `- ${v.sagaId} ${v.rule}: ${v.detail}`),
    ...r.compensatedWouldHaveCompleted.map(
      (f) => `- COMPENSATED_WOULD_HAVE_COMPLETED ${f.sagaId}: ${f.detail}`,
    ),
    ...r.undetermined.map((f) => `- UNDETERMINED ${f.sagaId}: ${f.detail}`),
    ...r.events.problems.slice(0, 50).map((p) => `- EVENT ${p}`),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sagas: { type: 'string', default: '200' },
      'fault-rate': { type: 'string', default: '0.3' },
      rate: { type: 'string', default: '2' },
      'database-prefix': { type: 'string' },
      concurrency: { type: 'string', default: '20' },
      seed: { type: 'string', default: String(Date.now() % 100000) },
      scripted: { type: 'boolean', default: false },
      'temporal-mode': { type: 'string', default: 'dev' },
      // Past the shipped step deadline (10 min): a saga whose provider never answers compensates only then.
      'quiescence-seconds': { type: 'string', default: '1200' },
    },
  });
  const mode = values['temporal-mode'];
  if (mode !== 'dev' && mode !== 'cluster') throw new Error(`--temporal-mode is dev or cluster, not ${mode}`);
  const report = await runChaos({
    temporalMode: mode,
    sagas: Number(values.sagas),
    faultRate: Number(values['fault-rate']),
    ratePerSecond: Number(values.rate),
    databasePrefix: values['database-prefix'],
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
    scripted: values.scripted ?? false,
    quiescenceTimeoutMs: Number(values['quiescence-seconds']) * 1000,
    log: (line) => console.log(`[chaos] ${line}`),
  });
  const dir = path.resolve(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.md'), markdown(report));
  console.log(markdown(report));
  const clean =
    report.lost === 0 &&
    report.violations.length === 0 &&
    report.compensatedWouldHaveCompleted.length === 0 &&
    report.events.problems.length === 0;
  return clean ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`chaos failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
