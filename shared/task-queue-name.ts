/**
 * A process's task queue: the deployment's prefix and the process kind (a service's name, or
 * "orchestrator"). Workflow-safe: the engine derives a service's queue from the name a saga declares.
 */
export function taskQueueOfService(prefix: string, service: string): string {
  return `${prefix}${service}`;
}
