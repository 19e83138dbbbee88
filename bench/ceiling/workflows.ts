import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CeilingActivities } from './activities';
import { ceilingQueues, prefixOfWorkflowQueue } from './queues';

/**
 * The no-op ceiling: five activities in sequence over two activity queues (A, B, A, B, A), started on a
 * third queue. No argument, no database, no payload encryption, no interceptors: what a saga's five steps
 * cost at least on the same Temporal server with SDK defaults.
 */
export async function ceilingWorkflow(): Promise<void> {
  const queues = ceilingQueues(prefixOfWorkflowQueue(workflowInfo().taskQueue));
  const options = { startToCloseTimeout: '30 seconds' } as const;
  const a = proxyActivities<CeilingActivities>({ ...options, taskQueue: queues.activitiesA });
  const b = proxyActivities<CeilingActivities>({ ...options, taskQueue: queues.activitiesB });
  for (const queue of [a, b, a, b, a]) await queue.noop();
}
