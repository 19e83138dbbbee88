import { Teardown } from '../../scripts/lib/teardown';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Teardown', () => {
  it('stops in reverse order, each step even when one fails', async () => {
    const stopped: string[] = [];
    const failures: string[] = [];
    const teardown = new Teardown((line) => failures.push(line));
    teardown.add(() => stopped.push('server'));
    teardown.add(() => {
      throw new Error('worker would not stop');
    });
    teardown.add(() => stopped.push('api'));
    await teardown.run();
    expect(stopped).toEqual(['api', 'server']);
    expect(failures).toEqual(['stop failed: worker would not stop']);
  });

  it('runs a second run after the one in progress, with only what was added since', async () => {
    const stopped: string[] = [];
    const teardown = new Teardown();
    teardown.add(async () => {
      await tick(20);
      stopped.push('slow server');
    });
    const first = teardown.run();
    teardown.add(() => stopped.push('late worker'));
    const second = teardown.run();
    await second;
    expect(stopped).toEqual(['slow server', 'late worker']);
    await first;
    expect(stopped).toHaveLength(2);
  });

  it('close() also stops what is added while it runs, and resolves only when nothing is left', async () => {
    const stopped: string[] = [];
    const teardown = new Teardown();
    teardown.add(async () => {
      await tick(20);
      stopped.push('server');
    });
    const closing = teardown.close();
    // A part that finished starting while the run was being interrupted.
    await tick(5);
    teardown.add(() => stopped.push('ceiling worker'));
    await closing;
    expect(stopped).toEqual(['server', 'ceiling worker']);
    // After close, a step added is stopped at once.
    teardown.add(() => stopped.push('straggler'));
    await tick();
    expect(stopped).toEqual(['server', 'ceiling worker', 'straggler']);
  });
});
