import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CeilingActivities } from './activities';
import { ceilingQueues, prefixOfWorkflowQueue } from './queues';

/**
 * The no-op ceiling: five activities in sequence over two activity queues (A, B, A, B, A), started on a
 * third queue. No argument, no database, no payload encryption, no interceptors: what five steps cost at
 * least on the same Temporal server with SDK defaults (issue 15's ceiling, from when the saga had five).
 */
export async function ceilingWorkflow(): Promise<void> {
  await noopSteps(5);
}

/**
 * The same with six activities (A, B, A, B, A, B), as many as the order saga's steps since inventory
 * joined it: the least a saga of its length costs, and what one more step adds to the ceiling.
 */
export async function ceilingSixStepWorkflow(): Promise<void> {
  await noopSteps(6);
}

async function noopSteps(count: number): Promise<void> {
  const queues = ceilingQueues(prefixOfWorkflowQueue(workflowInfo().taskQueue));
  const options = { startToCloseTimeout: '30 seconds' } as const;
  const a = proxyActivities<CeilingActivities>({ ...options, taskQueue: queues.activitiesA });
  const b = proxyActivities<CeilingActivities>({ ...options, taskQueue: queues.activitiesB });
  for (let step = 0; step < count; step++) await (step % 2 === 0 ? a : b).noop();
}
