import { originOf, summarizeProfile, type CpuProfile } from '../../bench/cpu-profile';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
const ROOT = '/srv/worker/saga'; // a checkout whose path holds a project folder's name

describe('bench CPU profile summary', () => {
  it('names where code comes from: a package, a project file, Node, the workflow bundle or native code', () => {
    const origin = (url: string, name = 'f') => originOf(frame(name, url), ROOT);
    expect(origin(`file://${ROOT}/node_modules/pg/lib/client.js`)).toBe('pg');
    expect(origin(`file://${ROOT}/node_modules/@prisma/client/runtime/client.js`)).toBe('@prisma/client');
    // A package inside another's node_modules is the inner one.
    expect(origin(`${ROOT}/node_modules/a/node_modules/@scope/b/index.js`)).toBe('@scope/b');
    expect(origin(`file://${ROOT}/activities/shared/outbox.ts`)).toBe('activities/shared/outbox.ts');
    expect(origin(`file://${ROOT}/read-models/order-history/main.ts`)).toBe(
      'read-models/order-history/main.ts',
    );
    // Outside the project and not a package: the url as it is.
    expect(origin('file:///usr/lib/other.js')).toBe('file:///usr/lib/other.js');
    expect(origin('node:events')).toBe('node:events');
    expect(origin('node:internal/streams/writable')).toBe('node:internal');
    expect(origin('/tmp/workflow-bundle-a9df2218aef8b5456db3.js')).toBe('the workflow bundle');
    expect(origin('', '(garbage collector)')).toBe('native (garbage collector)');
    expect(origin('', 'writev')).toBe('native writev');
    expect(origin('', '')).toBe('native (anonymous)');
  });

  it('splits the sampled time by origin, each sample counting until the next, idle samples left out', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('query', `file://${ROOT}/node_modules/pg/lib/client.js`), children: [5] },
        { id: 4, callFrame: frame('emit', 'node:events') },
        { id: 5, callFrame: frame('parse', `file://${ROOT}/node_modules/pg-protocol/dist/parser.js`) },
      ],
      // Self time goes to the sampled node alone, not to its callers, for the gap after it: the first gap
      // (the profiler's start to the first sample) and the last sample's (none follows) count for nothing.
      // pg 1 + 2 ms, pg-protocol 1, node:events 2; the idle samples' 4 + 4 are left out.
      samples: [3, 5, 2, 3, 4, 2, 4],
      timeDeltas: [9000, 1000, 1000, 4000, 2000, 2000, 4000],
    };
    const summary = summarizeProfile(profile, ROOT);
    expect(summary.sampledMs).toBe(6);
    expect(summary.byOrigin).toEqual([
      { origin: 'pg', share: 0.5 },
      { origin: 'node:events', share: 2 / 6 },
      { origin: 'pg-protocol', share: 1 / 6 },
    ]);
  });

  it('has nothing to split in a profile of an idle thread', () => {
    const idle: CpuProfile = {
      nodes: [{ id: 1, callFrame: frame('(idle)', '') }],
      samples: [1, 1],
      timeDeltas: [100, 100],
    };
    expect(summarizeProfile(idle)).toEqual({ sampledMs: 0, byOrigin: [] });
  });
});
