import { originOf, summarizeProfile, type CpuProfile } from '../../bench/cpu-profile';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });

describe('bench CPU profile summary', () => {
  it('names where code comes from: a package, a project file, Node, the workflow bundle or V8', () => {
    expect(originOf(frame('query', 'file:///app/node_modules/pg/lib/client.js'))).toBe('pg');
    expect(originOf(frame('x', 'file:///app/node_modules/@prisma/client/runtime/client.js'))).toBe(
      '@prisma/client',
    );
    // A package inside another's node_modules is the inner one.
    expect(originOf(frame('x', '/app/node_modules/a/node_modules/@scope/b/index.js'))).toBe('@scope/b');
    expect(originOf(frame('appendEvent', 'file:///work/app/activities/shared/outbox.ts'))).toBe(
      'activities/shared/outbox.ts',
    );
    expect(originOf(frame('emit', 'node:events'))).toBe('node:events');
    expect(originOf(frame('x', 'node:internal/streams/writable'))).toBe('node:internal');
    expect(originOf(frame('runStep', '/tmp/workflow-bundle-a9df2218aef8b5456db3.js'))).toBe(
      'the workflow bundle',
    );
    expect(originOf(frame('(garbage collector)', ''))).toBe('V8 (garbage collector)');
    expect(originOf(frame('', ''))).toBe('V8 (anonymous)');
  });

  it('splits the sampled time by origin, leaving idle samples out', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('query', 'file:///app/node_modules/pg/lib/client.js'), children: [5] },
        { id: 4, callFrame: frame('emit', 'node:events') },
        { id: 5, callFrame: frame('parse', 'file:///app/node_modules/pg-protocol/dist/parser.js') },
      ],
      // Self time goes to the sampled node alone, not to its callers: pg 2 ms, pg-protocol 1, node 1.
      samples: [2, 3, 5, 2, 3, 4, 2],
      timeDeltas: [5000, 1000, 1000, 5000, 1000, 1000, 5000],
    };
    const summary = summarizeProfile(profile);
    expect(summary.sampledMs).toBe(4);
    expect(summary.byOrigin).toEqual([
      { origin: 'pg', share: 0.5 },
      { origin: 'pg-protocol', share: 0.25 },
      { origin: 'node:events', share: 0.25 },
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
