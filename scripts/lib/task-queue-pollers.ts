import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { TaskQueueType } = temporal.api.enums.v1;

export interface PolledQueue {
  name: string;
  type: 'workflow' | 'activity';
}

/**
 * Waits until every task queue has a poller (its worker started), so what comes next (faults, measured
 * workflows) does not run into a worker still starting. `check` runs between polls, e.g. to fail as soon
 * as the worker process died.
 */
export async function waitForPollers(
  workflowService: Connection['workflowService'],
  namespace: string,
  queues: readonly PolledQueue[],
  options: { timeoutMs?: number; check?: () => void } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (const { name, type } of queues) {
    for (;;) {
      options.check?.();
      const { pollers } = await workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name },
        taskQueueType:
          type === 'workflow'
            ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
            : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      if (pollers.length > 0) break;
      if (Date.now() > deadline) throw new Error(`no worker polls ${name} after ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
