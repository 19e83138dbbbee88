import type { ServiceName } from './config';

export type ProcessKind = 'orchestrator' | ServiceName;

/** Every process kind polls its own task queue, so each can be scaled and restarted alone. */
export type TaskQueues = Record<ProcessKind, string>;

export function taskQueues(prefix: string): TaskQueues {
  return {
    orchestrator: `${prefix}orchestrator`,
    orders: `${prefix}orders`,
    payments: `${prefix}payments`,
    shipments: `${prefix}shipments`,
  };
}
