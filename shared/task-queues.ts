import { SERVICES, type ServiceName } from './config';
import { taskQueueOfService } from './task-queue-name';

export { taskQueueOfService };

export type ProcessKind = 'orchestrator' | ServiceName;

/** The queues of this deployment's processes (the orchestrator and every registered service). */
export type TaskQueues = Record<ProcessKind, string>;

export function taskQueues(prefix: string): TaskQueues {
  const kinds: ProcessKind[] = ['orchestrator', ...SERVICES];
  return Object.fromEntries(kinds.map((kind) => [kind, taskQueueOfService(prefix, kind)])) as TaskQueues;
}
