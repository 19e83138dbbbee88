/**
 * A worker process's V8 heaps, read through its inspector (`--inspect`, see BenchStack.inspectWorkers):
 * the main thread's and each worker thread's (the orchestrator runs its workflows in one), each after a full
 * garbage collection, heap snapshots summarised by constructor (bench/memory), and CPU profiles
 * (bench/profile).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import CDP from 'chrome-remote-interface';
import type { CpuProfile } from './cpu-profile';

/** One isolate's heap after a full GC, in MiB. */
export interface IsolateHeap {
  usedMiB: number;
  totalMiB: number;
}

/** Objects of one constructor (or of one V8 node type, in parentheses) in a heap snapshot. */
export interface ConstructorCount {
  name: string;
  count: number;
  selfMiB: number;
}

export interface SnapshotSummary {
  file: string;
  nodes: number;
  totalMiB: number;
  byConstructor: ConstructorCount[];
}

type Send = (method: string, params?: object) => Promise<Record<string, unknown>>;
type Listen = (method: string, listener: (params: Record<string, unknown>) => void) => () => void;

/** One inspector session: the process's main thread or one of its worker threads. */
interface Session {
  send: Send;
  on: Listen;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

export class ProcessInspector {
  /** The isolates whose CPU profiler runs. */
  private readonly profiling = new Set<string>();

  private constructor(
    private readonly client: CDP.Client,
    private readonly threads: Map<string, Session>,
  ) {}

  /** Connects to the inspector on `port` and attaches to every worker thread the process runs. */
  static async connect(port: number): Promise<ProcessInspector> {
    const client = await CDP({ host: '127.0.0.1', port, local: true });
    const raw = client as unknown as {
      send: Send;
      on(event: string, listener: (params: Record<string, unknown>) => void): void;
      removeListener(event: string, listener: (params: Record<string, unknown>) => void): void;
    };
    const main: Session = {
      send: (method, params) => raw.send(method, params),
      on: (method, listener) => {
        raw.on(method, listener);
        return () => raw.removeListener(method, listener);
      },
    };
    const threads = new Map<string, Session>([['main', main]]);
    let nextId = 1;
    const pending = new Map<
      number,
      { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }
    >();
    const listeners = new Map<string, Set<(params: Record<string, unknown>) => void>>();
    raw.on('NodeWorker.receivedMessageFromWorker', (params) => {
      const message = JSON.parse(params.message as string) as {
        id?: number;
        method?: string;
        params?: Record<string, unknown>;
        result?: Record<string, unknown>;
        error?: { message: string };
      };
      if (message.id !== undefined) {
        const call = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) call?.reject(new Error(message.error.message));
        else call?.resolve(message.result ?? {});
      } else if (message.method) {
        for (const listener of listeners.get(`${params.sessionId as string}:${message.method}`) ?? [])
          listener(message.params ?? {});
      }
    });
    raw.on('NodeWorker.attachedToWorker', (params) => {
      const sessionId = params.sessionId as string;
      const info = params.workerInfo as { workerId: string; title: string };
      threads.set(`thread ${info.workerId} (${info.title})`, {
        send: (method, callParams) =>
          new Promise((resolve, reject) => {
            const id = nextId++;
            pending.set(id, { resolve, reject });
            raw
              .send('NodeWorker.sendMessageToWorker', {
                sessionId,
                message: JSON.stringify({ id, method, params: callParams ?? {} }),
              })
              .catch(reject);
          }),
        on: (method, listener) => {
          const key = `${sessionId}:${method}`;
          const set = listeners.get(key) ?? new Set();
          set.add(listener);
          listeners.set(key, set);
          return () => set.delete(listener);
        },
      });
    });
    await main.send('NodeWorker.enable', { waitForDebuggerOnStart: false });
    // The attach events of running threads arrive right after enable.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return new ProcessInspector(client, threads);
  }

  /** Names of the isolates: "main" and one per worker thread. */
  isolates(): string[] {
    return [...this.threads.keys()];
  }

  /** Each isolate's heap after a full GC. */
  async heaps(): Promise<Record<string, IsolateHeap>> {
    const result: Record<string, IsolateHeap> = {};
    for (const [name, session] of this.threads) {
      await session.send('HeapProfiler.collectGarbage');
      const usage = await session.send('Runtime.getHeapUsage');
      result[name] = { usedMiB: mib(usage.usedSize as number), totalMiB: mib(usage.totalSize as number) };
    }
    return result;
  }

  /** The main thread's `process.memoryUsage()` in MiB (external and array buffers live outside the heap). */
  async memoryUsage(): Promise<Record<string, number>> {
    const answer = await this.session('main').send('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const usage = JSON.parse((answer.result as { value: string }).value) as Record<string, number>;
    return Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, mib(v)]));
  }

  /** A heap snapshot of one isolate (taken after a full GC by V8 itself), written to `file`. */
  async snapshot(isolate: string, file: string): Promise<void> {
    const session = this.session(isolate);
    const out = createWriteStream(file);
    const off = session.on('HeapProfiler.addHeapSnapshotChunk', (params) => {
      out.write(params.chunk as string);
    });
    try {
      await session.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } finally {
      off();
      out.end();
      await once(out, 'close');
    }
  }

  /** Starts V8's sampling CPU profiler in every isolate, one sample each `intervalUs` microseconds. */
  async startProfiling(intervalUs: number): Promise<void> {
    for (const [name, session] of this.threads) {
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: intervalUs });
      await session.send('Profiler.start');
      this.profiling.add(name);
    }
  }

  /**
   * Stops the profilers and returns each isolate's profile (the `.cpuprofile` format of DevTools): those
   * startProfiling started, not a thread that attached since.
   */
  async stopProfiling(): Promise<Record<string, CpuProfile>> {
    const profiles: Record<string, CpuProfile> = {};
    for (const name of this.profiling) {
      profiles[name] = (await this.session(name).send('Profiler.stop')).profile as CpuProfile;
    }
    this.profiling.clear();
    return profiles;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private session(isolate: string): Session {
    const session = this.threads.get(isolate);
    if (!session) throw new Error(`no isolate ${isolate} (have ${this.isolates().join(', ')})`);
    return session;
  }
}

interface HeapSnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * Counts and shallow sizes by constructor: objects by their constructor's name, everything else by V8's
 * node type in parentheses ("(string)", "(code)", ...), as DevTools' summary view groups them.
 */
export function summarizeSnapshot(json: string, file: string, top = 300): SnapshotSummary {
  const snapshot = JSON.parse(json) as HeapSnapshotJson;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const groups = new Map<string, { count: number; self: number }>();
  let total = 0;
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt] as number] as string;
    const name =
      type === 'object' || type === 'closure' ? (strings[nodes[i + nameAt] as number] as string) : '';
    const key = type === 'object' ? name : type === 'closure' ? `(closure) ${name}`.trim() : `(${type})`;
    const size = nodes[i + sizeAt] as number;
    total += size;
    const group = groups.get(key) ?? { count: 0, self: 0 };
    group.count++;
    group.self += size;
    groups.set(key, group);
  }
  const byConstructor = [...groups.entries()]
    .map(([name, g]) => ({ name, count: g.count, selfMiB: Math.round((g.self / 2 ** 20) * 1000) / 1000 }))
    .sort((a, b) => b.selfMiB - a.selfMiB)
    .slice(0, top);
  return { file, nodes: nodes.length / width, totalMiB: mib(total), byConstructor };
}

/** Constructors whose count or size grew most from one snapshot to the next. */
export function snapshotGrowth(
  before: SnapshotSummary,
  after: SnapshotSummary,
  top = 15,
): { name: string; countBefore: number; countAfter: number; selfMiBBefore: number; selfMiBAfter: number }[] {
  const old = new Map(before.byConstructor.map((c) => [c.name, c]));
  return after.byConstructor
    .map((c) => {
      const b = old.get(c.name);
      return {
        name: c.name,
        countBefore: b?.count ?? 0,
        countAfter: c.count,
        selfMiBBefore: b?.selfMiB ?? 0,
        selfMiBAfter: c.selfMiB,
      };
    })
    .sort((a, b) => b.selfMiBAfter - b.selfMiBBefore - (a.selfMiBAfter - a.selfMiBBefore))
    .slice(0, top);
}
