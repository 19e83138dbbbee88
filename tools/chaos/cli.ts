/**
 * `npm run chaos -- --sagas N --fault-rate P [--concurrency C] [--seed S] [--scripted]`: a chaos run
 * against a stack it starts itself. Writes tools/chaos/results/latest.{json,md}; exits 1 if any saga was
 * lost or any invariant violated.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos, type ChaosReport } from './run';

function markdown(r: ChaosReport): string {
  return [
    `Chaos run: ${r.started} sagas, concurrency ${r.options.concurrency}, fault rate ${r.options.faultRate}/s${r.options.scripted ? ' (scripted faults)' : ''}, seed ${r.options.seed}, ${r.durationSeconds} s.`,
    '',
    '| sagas | count |',
    '| --- | --- |',
    `| started | ${r.started} |`,
    `| completed | ${r.completed} |`,
    `| compensated | ${r.compensated} (of which cancelled by the run: ${r.cancelled}) |`,
    `| parked | ${r.parked} |`,
    `| **lost** (must be 0) | **${r.lost}** |`,
    `| **invariant violations** (must be 0) | **${r.violations.length}** |`,
    '',
    '| fault injected | count |',
    '| --- | --- |',
    ...Object.entries(r.faults).map(([k, v]) => `| ${k} | ${v} |`),
    `| worker restarts (by the supervisor) | ${r.workerRestarts} |`,
    '',
    ...r.violations.map((v) => `- ${v.sagaId} ${v.rule}: ${v.detail}`),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sagas: { type: 'string', default: '200' },
      'fault-rate': { type: 'string', default: '0.3' },
      concurrency: { type: 'string', default: '20' },
      seed: { type: 'string', default: String(Date.now() % 100000) },
      scripted: { type: 'boolean', default: false },
      'quiescence-seconds': { type: 'string', default: '600' },
    },
  });
  const report = await runChaos({
    sagas: Number(values.sagas),
    faultRate: Number(values['fault-rate']),
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
  return report.lost === 0 && report.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`chaos failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
