/**
 * `npm run bench:dispatch`: what a task dispatch costs on each Temporal configuration (issue 15). For each
 * variant of bench/dispatch-variants.ts it starts a fresh server and the no-op ceiling's workers
 * (bench/ceiling), then measures the ceiling's p50 latency at 1 concurrent and its throughput at 50.
 * Variants alternate within each repetition (order reversed every other one); figures are medians over
 * repetitions, ratios against each variant's baseline from the same run. Writes
 * bench/results/dispatch.{json,md}.
 * Options: --only a,b (variant names; a trailing * matches a prefix), --reps N (3), --sequential N (20),
 * --total N (250), --quick (2 reps, smaller counts), --out <path without extension>; --from <json> writes
 * the report again from a run's samples (e.g. of a run stopped midway) without measuring.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { stopOnSignals, Teardown } from '../scripts/lib/teardown';
import { freePort } from '../scripts/lib/ports';
import { freeClusterPorts, startCluster } from '../scripts/temporal/cluster';
import { clusterNodes, temporalDatabases } from '../scripts/temporal/cluster-config';
import { dropDatabaseIfExists } from '../scripts/db/ensure-database';
import { startDevServer } from '../scripts/temporal/dev-server';
import { runCeilingWorkflow, startCeilingWorkers } from './ceiling';
import { cpuSeconds } from './cpu';
import { VARIANTS, type DispatchServer, type DispatchVariant } from './dispatch-variants';
import { round, runConcurrently } from './stats';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    reps: { type: 'string' },
    sequential: { type: 'string' },
    total: { type: 'string' },
    quick: { type: 'boolean', default: false },
    from: { type: 'string' },
    out: { type: 'string', default: 'bench/results/dispatch' },
  },
});
const quick = args.quick ?? false;
const reps = Number(args.reps ?? (quick ? 2 : 3));
const sequentialCount = Number(args.sequential ?? (quick ? 10 : 20));
const concurrentTotal = Number(args.total ?? (quick ? 100 : 250));
const CONCURRENCY = 50;
const PREFIX = 'dispatch-';
const log = (line: string) => console.log(`[dispatch] ${line}`);

interface Sample {
  /** p50 of one workflow at a time, ms. */
  p50At1: number;
  /** Workflows per second with 50 in flight. */
  throughputAt50: number;
  /** CPU the server processes used during the 50-concurrent phase, in cores. */
  serverCores: number;
  /** CPU the worker process used during the 50-concurrent phase, in cores. */
  workerCores: number;
}

interface RunningServer {
  address: string;
  /** The server's processes, for their CPU time. */
  pids(): number[];
  stop(): Promise<void>;
}

function selected(): DispatchVariant[] {
  if (!args.only) return VARIANTS;
  const patterns = args.only.split(',').map((p) => p.trim());
  const matches = (name: string) =>
    patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
  const chosen = VARIANTS.filter((v) => matches(v.name));
  // A variant's baseline is measured with it, or it has nothing to be compared with.
  const names = new Set(chosen.flatMap((v) => [v.name, ...(v.baseline ? [v.baseline] : [])]));
  const result = VARIANTS.filter((v) => names.has(v.name));
  if (result.length === 0) throw new Error(`no variant matches --only ${args.only}`);
  return result;
}

async function startServer(server: DispatchServer, dataDir: string, run: number): Promise<RunningServer> {
  if (server.kind === 'dev') {
    const dev = await startDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      ...(server.store === 'file' ? { dbFile: path.join(dataDir, 'temporal.sqlite') } : {}),
      logFile: path.join(dataDir, 'temporal.log'),
      // Exactly the variant's settings, not the project's defaults.
      dynamicConfig: server.dynamicConfig ?? {},
      sqlitePragmas: server.pragmas ?? {},
    });
    return { address: dev.address, pids: () => [dev.pid], stop: dev.stop };
  }
  const ports = await freeClusterPorts();
  const postgresUrl = process.env.TEMPORAL_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const databasePrefix = `dispatch_${process.pid}_${run}_`;
  const dropDatabases = () =>
    Promise.all(
      Object.values(temporalDatabases(databasePrefix)).map((name) => {
        const url = new URL(postgresUrl);
        url.pathname = `/${name}`;
        return dropDatabaseIfExists(url.toString());
      }),
    );
  const cluster = await startCluster({
    ports,
    postgresUrl,
    databasePrefix,
    dataDir,
    fresh: true,
    tuning: server.tuning,
  });
  const names = clusterNodes(ports).map((node) => node.name);
  return {
    address: cluster.address,
    pids: () => names.flatMap((name) => cluster.supervisor.process(name)?.child.pid ?? []),
    async stop() {
      await cluster.stop();
      await dropDatabases();
    },
  };
}

const totalCpu = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

/** Stops what the measurement in progress started; run on SIGINT/SIGTERM too, so nothing outlives us. */
let cleanUp: (() => Promise<void>) | undefined;
stopOnSignals(() => cleanUp?.() ?? Promise.resolve(), log);

async function measure(variant: DispatchVariant, run: number): Promise<Sample> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'saga-dispatch-'));
  const teardown = new Teardown();
  teardown.add(() => rmSync(dataDir, { recursive: true, force: true }));
  const stopAll = () => teardown.run();
  cleanUp = () => teardown.close();
  try {
    const server = await startServer(variant.server, dataDir, run);
    teardown.add(() => server.stop());
    const workers = await startCeilingWorkers({
      address: server.address,
      taskQueuePrefix: PREFIX,
      tuning: variant.worker,
    });
    teardown.add(() => workers.stop());
    const connection = await Connection.connect({ address: server.address });
    teardown.add(() => connection.close());
    const client = new Client({ connection });
    const once = () => runCeilingWorkflow(client, PREFIX);
    // Warm-up: the worker's workflow bundle, JIT, the server's task queue managers and caches.
    await runConcurrently(5, 1, once);
    await runConcurrently(CONCURRENCY, CONCURRENCY, once);

    const latencies = await runConcurrently(sequentialCount, 1, once);
    const cpuBefore = [totalCpu(server.pids()), cpuSeconds(workers.pid)];
    const start = performance.now();
    await runConcurrently(concurrentTotal, CONCURRENCY, once);
    const seconds = (performance.now() - start) / 1000;
    const cpuAfter = [totalCpu(server.pids()), cpuSeconds(workers.pid)];
    return {
      p50At1: median(latencies),
      throughputAt50: concurrentTotal / seconds,
      serverCores: (cpuAfter[0]! - cpuBefore[0]!) / seconds,
      workerCores: (cpuAfter[1]! - cpuBefore[1]!) / seconds,
    };
  } finally {
    await stopAll();
    cleanUp = undefined;
  }
}

interface VariantResult {
  name: string;
  change: string;
  baseline?: string;
  p50At1: number;
  throughputAt50: number;
  serverCores: number;
  workerCores: number;
  /** Baseline's p50 / this p50 (above 1: faster) and this throughput / the baseline's. */
  latencyRatio?: number;
  throughputRatio?: number;
  samples: Sample[];
}

/** The middle value; with an even count the mean of the two middle ones (a run stopped midway). */
function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarise(variants: DispatchVariant[], samples: Map<string, Sample[]>): VariantResult[] {
  const med = (name: string, key: keyof Sample) => median((samples.get(name) ?? []).map((s) => s[key]));
  return variants.map((v) => {
    const result: VariantResult = {
      name: v.name,
      change: v.change,
      baseline: v.baseline,
      p50At1: round(med(v.name, 'p50At1')),
      throughputAt50: round(med(v.name, 'throughputAt50')),
      serverCores: round(med(v.name, 'serverCores'), 2),
      workerCores: round(med(v.name, 'workerCores'), 2),
      samples: samples.get(v.name) ?? [],
    };
    if (v.baseline) {
      result.latencyRatio = round(med(v.baseline, 'p50At1') / med(v.name, 'p50At1'), 2);
      result.throughputRatio = round(med(v.name, 'throughputAt50') / med(v.baseline, 'throughputAt50'), 2);
    }
    return result;
  });
}

function markdown(results: VariantResult[], meta: Record<string, string | number>): string {
  const lines = [
    `Measured ${meta.date} with \`npm run bench:dispatch\` on ${meta.cpus}, Node ${meta.node} (${meta.seconds} s).`,
    `Medians of up to ${meta.reps} alternating repetitions (n: samples of the variant); a fresh server per ` +
      `measurement; p50 of ${meta.sequential} workflows one at a time, throughput of ${meta.total} workflows ` +
      'with 50 in flight. Ratios against the baseline variant of the same run (above 1 is better for both).',
    '',
    '| variant | change | n | p50 at 1 (ms) | throughput at 50 (/s) | p50 ratio | throughput ratio | server CPU (cores) | worker CPU (cores) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const baseline = r.baseline ? ` (vs ${r.baseline})` : ' (baseline)';
    lines.push(
      `| ${r.name}${baseline} | ${r.change} | ${r.samples.length} | ${r.p50At1} | ${r.throughputAt50} | ${r.latencyRatio ?? '–'} | ` +
        `${r.throughputRatio ?? '–'} | ${r.serverCores} | ${r.workerCores} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  if (args.from) {
    const previous = JSON.parse(readFileSync(args.from, 'utf8')) as {
      meta: { seconds: number };
      results: VariantResult[];
      failures?: string[];
    };
    failures.push(...(previous.failures ?? []));
    const byName = new Map(previous.results.map((r) => [r.name, r.samples]));
    const variants = VARIANTS.filter((v) => byName.has(v.name));
    console.log(
      write(variants, new Map(variants.map((v) => [v.name, byName.get(v.name)!])), previous.meta.seconds),
    );
    return;
  }
  const variants = selected();
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  const began = performance.now();
  let run = 0;
  for (let rep = 0; rep < reps; rep++) {
    // Reversed every other repetition, so drift on a shared machine favours no variant.
    const order = rep % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      let sample: Sample;
      try {
        sample = await measure(variant, run++);
      } catch (error) {
        // One failed start (a port taken meanwhile, a slow machine) costs one sample, not the run.
        failures.push(`rep ${rep + 1} ${variant.name}: ${(error as Error).message}`);
        log(`rep ${rep + 1}/${reps} ${variant.name} failed: ${(error as Error).message}`);
        continue;
      }
      samples.get(variant.name)!.push(sample);
      write(variants, samples, Math.round((performance.now() - began) / 1000));
      log(
        `rep ${rep + 1}/${reps} ${variant.name}: p50 at 1 ${round(sample.p50At1)} ms, ` +
          `${round(sample.throughputAt50)}/s at 50 (server ${round(sample.serverCores, 2)} cores, ` +
          `worker ${round(sample.workerCores, 2)})`,
      );
    }
  }
  const md = write(variants, samples, Math.round((performance.now() - began) / 1000));
  console.log(md);
  if (failures.length > 0) console.log(`Failed measurements:\n${failures.join('\n')}`);
}

const failures: string[] = [];

/** Writes the results so far (after every measurement: a run stopped midway keeps what it measured). */
function write(variants: DispatchVariant[], samples: Map<string, Sample[]>, seconds: number): string {
  const results = summarise(variants, samples);
  const meta = {
    date: new Date().toISOString(),
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}`,
    node: process.version,
    seconds,
    reps: Math.max(...[...samples.values()].map((list) => list.length)),
    sequential: sequentialCount,
    total: concurrentTotal,
  };
  const out = path.resolve(args.out ?? 'bench/results/dispatch');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, `${JSON.stringify({ meta, results, failures }, null, 2)}\n`);
  const md = markdown(results, meta);
  writeFileSync(`${out}.md`, md);
  return md;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
