/**
 * What a V8 CPU profile (DevTools' `.cpuprofile`, from bench/profile) says in one table: the sampled time
 * (every sample but the idle ones; wall time, so a thread waiting for a core counts too) and its split by
 * where the code comes from: a package of node_modules, a file of the project, Node's JavaScript internals,
 * the workflow bundle, or native code (frames without a script: V8's own, such as the garbage collector,
 * Node's C++ bindings such as `writev`, and addons such as the Temporal core bridge). Self time: a sample
 * counts for the function it was taken in, for the interval until the next sample, as DevTools counts it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  /** Microseconds since the previous sample (the first: since the profile started), one per sample. */
  timeDeltas: number[];
}

export interface ProfileSummary {
  sampledMs: number;
  /** Share of the sampled time by origin, largest first, as fractions of 1. */
  byOrigin: { origin: string; share: number }[];
}

const PROJECT_ROOT = path.resolve(__dirname, '..');

/**
 * A package (`@scope/name`, the innermost when one is nested in another's node_modules), a project file
 * (`activities/shared/outbox.ts`), `node:<module>` (every internal file is `node:internal`), the workflow
 * bundle, or `native <function>`.
 */
export function originOf(frame: CpuProfileNode['callFrame'], projectRoot = PROJECT_ROOT): string {
  const { url, functionName } = frame;
  if (!url) return `native ${functionName || '(anonymous)'}`;
  const inModules = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].at(-1);
  if (inModules) return inModules[1] as string;
  if (url.startsWith('node:')) return `node:${url.slice('node:'.length).split('/')[0]}`;
  // The workflow bundle is one file, webpack's: its code is the workflows, the engine and the SDK's workflow side.
  if (/workflow-bundle-[0-9a-f]+\.js$/.test(url)) return 'the workflow bundle';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const relative = path.relative(projectRoot, file);
  return path.isAbsolute(file) && !relative.startsWith('..') ? relative : url;
}

export function summarizeProfile(profile: CpuProfile, projectRoot = PROJECT_ROOT): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byOrigin = new Map<string, number>();
  let sampled = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    // timeDeltas[i] is the gap before sample i; the time spent where sample i was taken is the gap after it.
    const micros = profile.timeDeltas[i + 1] ?? 0;
    if (!frame || frame.functionName === '(idle)') return;
    sampled += micros;
    const origin = originOf(frame, projectRoot);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + micros);
  });
  return {
    sampledMs: sampled / 1000,
    byOrigin: [...byOrigin]
      .map(([origin, micros]) => ({ origin, share: sampled > 0 ? micros / sampled : 0 }))
      .sort((a, b) => b.share - a.share),
  };
}
