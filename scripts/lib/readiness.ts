import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { describeExit, type Supervised } from './processes';

/** Waits for what supervised processes provide, failing as soon as one of them dies. */

const POLL_MS = 250;

/** Polls an HTTP URL until it answers 2xx; fails when `owner` dies or after `timeoutMs`. */
export async function waitForHttp(url: string, owner: Supervised, timeoutMs = 60_000): Promise<void> {
  await until(`${owner.name} did not answer ${url}`, [owner], timeoutMs, async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return res.ok;
    } catch {
      return false; // not listening yet
    }
  });
}

/**
 * Waits until every task queue has a poller, i.e. the workers behind them run and reach Temporal, so
 * that work submitted right after is picked up at once.
 */
export async function waitForPollers(
  address: string,
  namespace: string,
  queues: Record<string, string>,
  workers: Supervised[],
  timeoutMs = 120_000,
): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const pending = new Set(Object.values(queues));
    await until(
      'workers did not poll their task queues',
      workers,
      timeoutMs,
      async () => {
        for (const queue of [...pending]) {
          if (await hasPoller(connection, namespace, queue)) pending.delete(queue);
        }
        return pending.size === 0;
      },
      () => `nobody polls ${[...pending].join(', ')}`,
    );
  } finally {
    await connection.close();
  }
}

async function hasPoller(connection: Connection, namespace: string, name: string): Promise<boolean> {
  const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } = temporal.api.enums.v1.TaskQueueType;
  for (const taskQueueType of [TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY]) {
    try {
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name },
        taskQueueType,
      });
      if (pollers && pollers.length > 0) return true;
    } catch {
      // a transient error: ask again on the next round
    }
  }
  return false;
}

async function until(
  what: string,
  watched: Supervised[],
  timeoutMs: number,
  ready: () => Promise<boolean>,
  detail: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = watched.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead) {
      const how = describeExit(await dead.exited);
      throw new Error(`${dead.name} exited during start-up (${how}); see its output above`);
    }
    if (await ready()) return;
    if (Date.now() > deadline) {
      const extra = detail();
      throw new Error(`${what} within ${Math.round(timeoutMs / 1000)} s${extra ? ` (${extra})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
