/** The shape of bench/results/latest.json. */
import type { Breakdown } from './breakdown';
import type { BenchMode } from './modes';
import type { ReadPathResult } from './read-path';
import type { Kind, Percentiles, ThroughputRow } from './throughput';

export interface ModeResult {
  mode: BenchMode;
  label: string;
  /** How this mode's Temporal runs (store, traces, nodes). */
  temporal: Record<string, string>;
  /** Time to start the stack: Temporal, databases, workers, API. */
  startSeconds: number;
  durationSeconds: number;
  throughput?: ThroughputRow[];
  /** Start → result at 1 concurrent, per workload. */
  latencyAt1?: Record<Kind, Percentiles>;
  /** Medians from the histories of the workflows run at 1 concurrent. */
  breakdownMs?: Record<Kind, Breakdown>;
  readPath?: ReadPathResult;
  /** Set when a measurement of this mode failed: what was measured before stays. */
  error?: string;
}

export interface EndToEnd {
  happy: Percentiles;
  compensation: Percentiles;
  parallelCompensation: Percentiles;
  ratioP50: number;
  ratioP95: number;
  parallelRatioP50: number;
  parallelRatioP95: number;
}

export interface StartLatency {
  clients: number;
  api: { p50: number; p99: number };
  direct: { p50: number; p99: number };
  ratioP99: number;
}

export interface MemoryGrowth {
  sagas: number;
  after100MiB: Record<string, number>;
  afterAllMiB: Record<string, number>;
  growthPercent: Record<string, number>;
}

export interface Goal {
  goal: string;
  mode?: BenchMode;
  target: string;
  figure: string;
  /** null: not measured in this run (mode not selected or failed). */
  met: boolean | null;
}

export interface BenchResult {
  generatedAt: string;
  /** When `npm run bench -- --render` last computed the goals and the report again from the samples. */
  renderedAt?: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  settings: Record<string, unknown>;
  goals: Goal[];
  modes: ModeResult[];
  /** The mode the API latency and memory sections ran in (the first one selected). */
  primaryMode: BenchMode;
  endToEnd?: EndToEnd;
  apiStartLatency?: StartLatency[];
  memory?: MemoryGrowth;
  durationSeconds: number;
}
