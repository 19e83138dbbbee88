/**
 * The configurations `npm run bench:dispatch` compares: Temporal servers (dev server in memory or on its
 * SQLite file, the real server on PostgreSQL) with dynamic config, persistence and worker settings changed
 * one at a time from a default. Each variant names the default it is compared with (same run).
 */
import type { CeilingTuning } from './ceiling';
import type { ClusterTuning } from '../scripts/temporal/cluster-config';
import { DISPATCH_DYNAMIC_CONFIG, FILE_STORE_PRAGMAS } from '../scripts/temporal/dispatch-config';

export type DispatchServer =
  | {
      kind: 'dev';
      store: 'memory' | 'file';
      /** --dynamic-config-value pairs (JSON values). */
      dynamicConfig?: Record<string, unknown>;
      /** --sqlite-pragma pairs. */
      pragmas?: Record<string, string>;
    }
  | { kind: 'cluster'; tuning?: ClusterTuning };

export interface DispatchVariant {
  name: string;
  /** What changes from its baseline, for the report. */
  change: string;
  server: DispatchServer;
  worker?: CeilingTuning;
  /** The variant it is compared with; a variant without one is a baseline itself. */
  baseline?: string;
}

/** History's queue readers at 1,000 loads a second instead of 20 (kept: the project's default). */
export const QUEUE_READER_RPS = DISPATCH_DYNAMIC_CONFIG;

/** The cluster's dynamic config without the dispatch settings: the server's own defaults. */
const UNTUNED_CLUSTER = Object.fromEntries(Object.keys(DISPATCH_DYNAMIC_CONFIG).map((key) => [key, null]));

/** One task queue partition: a task is written where a poller waits, never forwarded between partitions. */
export const SINGLE_PARTITION = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/** The file store with a write-ahead log and no fsync per commit (still durable across a process crash). */
export const WAL_PRAGMAS = FILE_STORE_PRAGMAS;

const memory = (dynamicConfig: Record<string, unknown> = {}): DispatchServer => ({
  kind: 'dev',
  store: 'memory',
  dynamicConfig,
});
const file = (
  dynamicConfig: Record<string, unknown> = {},
  pragmas: Record<string, string> = {},
): DispatchServer => ({ kind: 'dev', store: 'file', dynamicConfig, pragmas });
const cluster = (tuning: ClusterTuning = {}): DispatchServer => ({ kind: 'cluster', tuning });

export const VARIANTS: DispatchVariant[] = [
  // ---------------------------------------------------------------- dev server, in memory
  {
    name: 'dev-memory',
    change: 'dev server in memory, CLI defaults (1 shard, 4 partitions)',
    server: memory(),
  },
  {
    name: 'dev-memory-transfer-rps',
    change: 'history.transferProcessorMaxPollRPS=1000 (default 20)',
    server: memory({ 'history.transferProcessorMaxPollRPS': 1000 }),
    baseline: 'dev-memory',
  },
  {
    name: 'dev-memory-queue-rps',
    change: 'transfer, timer and visibility queue readers at 1000 loads/s',
    server: memory(QUEUE_READER_RPS),
    baseline: 'dev-memory',
  },
  {
    name: 'dev-memory-1-partition',
    change: 'matching.numTaskqueue{Read,Write}Partitions=1 only',
    server: memory(SINGLE_PARTITION),
    baseline: 'dev-memory',
  },
  {
    name: 'dev-memory-queue-rps-1-partition',
    change: 'queue readers at 1000/s and 1 partition',
    server: memory({ ...QUEUE_READER_RPS, ...SINGLE_PARTITION }),
    baseline: 'dev-memory-queue-rps',
  },
  {
    name: 'dev-memory-queue-rps-forwarder',
    change: 'queue readers at 1000/s; forwarder 10 polls and tasks in flight, 1000/s',
    server: memory({
      ...QUEUE_READER_RPS,
      'matching.forwarderMaxOutstandingPolls': 10,
      'matching.forwarderMaxOutstandingTasks': 10,
      'matching.forwarderMaxRatePerSecond': 1000,
    }),
    baseline: 'dev-memory-queue-rps',
  },
  {
    name: 'dev-memory-queue-rps-new-matcher',
    change: 'queue readers at 1000/s; matching.useNewMatcher=true',
    server: memory({ ...QUEUE_READER_RPS, 'matching.useNewMatcher': true }),
    baseline: 'dev-memory-queue-rps',
  },
  {
    name: 'dev-memory-queue-rps-pollers-2',
    change: 'queue readers at 1000/s; workers: 2 workflow and 2 activity pollers',
    server: memory(QUEUE_READER_RPS),
    worker: {
      workflow: { maxConcurrentWorkflowTaskPolls: 2 },
      activity: { maxConcurrentActivityTaskPolls: 2 },
    },
    baseline: 'dev-memory-queue-rps',
  },
  {
    name: 'dev-memory-queue-rps-autoscaling',
    change: 'queue readers at 1000/s; workers: autoscaling pollers (SDK 1.24)',
    server: memory(QUEUE_READER_RPS),
    worker: {
      workflow: { workflowTaskPollerBehavior: { type: 'autoscaling' } },
      activity: { activityTaskPollerBehavior: { type: 'autoscaling' } },
    },
    baseline: 'dev-memory-queue-rps',
  },
  {
    name: 'dev-memory-queue-rps-no-sticky',
    change: 'queue readers at 1000/s; workers: no workflow cache (no sticky queue)',
    server: memory(QUEUE_READER_RPS),
    worker: { workflow: { maxCachedWorkflows: 0 } },
    baseline: 'dev-memory-queue-rps',
  },
  // ---------------------------------------------------------------- dev server, SQLite file
  { name: 'dev-file', change: 'dev server on its SQLite file, CLI defaults', server: file() },
  {
    name: 'dev-file-wal',
    change: 'pragmas journal_mode=wal, synchronous=normal',
    server: file({}, WAL_PRAGMAS),
    baseline: 'dev-file',
  },
  {
    name: 'dev-file-queue-rps',
    change: 'queue readers at 1000/s',
    server: file(QUEUE_READER_RPS),
    baseline: 'dev-file',
  },
  {
    name: 'dev-file-wal-queue-rps',
    change: 'WAL pragmas and queue readers at 1000/s',
    server: file(QUEUE_READER_RPS, WAL_PRAGMAS),
    baseline: 'dev-file',
  },
  // ---------------------------------------------------------------- real server on PostgreSQL
  {
    name: 'cluster',
    change: 'real server (2 history, 2 matching nodes) on PostgreSQL, 4 shards, 4 partitions',
    server: cluster({ dynamicConfig: UNTUNED_CLUSTER }),
  },
  {
    name: 'cluster-queue-rps',
    change: 'queue readers at 1000/s',
    server: cluster({ dynamicConfig: QUEUE_READER_RPS }),
    baseline: 'cluster',
  },
  {
    name: 'cluster-queue-rps-1-partition',
    change: 'queue readers at 1000/s, 1 partition',
    server: cluster({ dynamicConfig: { ...QUEUE_READER_RPS, ...SINGLE_PARTITION } }),
    baseline: 'cluster-queue-rps',
  },
  {
    name: 'cluster-queue-rps-1-shard',
    change: 'queue readers at 1000/s, 1 history shard',
    server: cluster({ dynamicConfig: QUEUE_READER_RPS, numHistoryShards: 1 }),
    baseline: 'cluster-queue-rps',
  },
  {
    name: 'cluster-queue-rps-connections',
    change: 'queue readers at 1000/s, history nodes 8 persistence connections (default 4)',
    server: cluster({ dynamicConfig: QUEUE_READER_RPS, maxConnections: { history: [8, 1] } }),
    baseline: 'cluster-queue-rps',
  },
];
