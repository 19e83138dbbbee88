/**
 * What a V8 CPU profile (DevTools' `.cpuprofile`, from bench/profile) says in one table: the sampled time
 * (every sample but the idle ones) and its split by where the code comes from, a package of node_modules,
 * a file of the project, Node's internals or V8 itself (the garbage collector, native code). Self time:
 * each sample counts once, for the function it was taken in.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  /** Microseconds since the previous sample, one per sample. */
  timeDeltas: number[];
}

export interface ProfileSummary {
  sampledMs: number;
  /** Share of the sampled time by origin, largest first, as fractions of 1. */
  byOrigin: { origin: string; share: number }[];
}

/** A package (`@scope/name`), a project file (`activities/shared/outbox.ts`), `node:<module>` or `V8 <what>`. */
export function originOf(frame: CpuProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return `V8 ${functionName || '(anonymous)'}`;
  // The innermost package: one nested in another's node_modules is itself.
  const inModules = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].at(-1);
  if (inModules) return inModules[1] as string;
  if (url.startsWith('node:')) return `node:${url.slice('node:'.length).split('/')[0]}`;
  // The workflow bundle is one file, webpack's: its code is the workflows, the engine and the SDK's workflow side.
  if (/workflow-bundle-[0-9a-f]+\.js$/.test(url)) return 'the workflow bundle';
  const project = url
    .replace(/^file:\/\//, '')
    .match(/\/(?:activities|api|bench|shared|worker|workflows)\/.*/);
  return project ? project[0].slice(1) : url;
}

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byOrigin = new Map<string, number>();
  let sampled = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    const micros = profile.timeDeltas[i] ?? 0;
    if (!frame || frame.functionName === '(idle)') return;
    sampled += micros;
    const origin = originOf(frame);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + micros);
  });
  return {
    sampledMs: sampled / 1000,
    byOrigin: [...byOrigin]
      .map(([origin, micros]) => ({ origin, share: sampled > 0 ? micros / sampled : 0 }))
      .sort((a, b) => b.share - a.share),
  };
}
