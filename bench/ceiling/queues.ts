/**
 * The ceiling workload's three task queues: one for the workflow, two for its activities (as the saga's
 * steps are spread over service queues). Workflow-safe: the workflow derives its activity queues here.
 */
export interface CeilingQueues {
  workflow: string;
  activitiesA: string;
  activitiesB: string;
}

const WORKFLOW_SUFFIX = 'ceiling-workflow';

export function ceilingQueues(prefix: string): CeilingQueues {
  return {
    workflow: `${prefix}${WORKFLOW_SUFFIX}`,
    activitiesA: `${prefix}ceiling-activities-a`,
    activitiesB: `${prefix}ceiling-activities-b`,
  };
}

/** The prefix of a workflow queue named by ceilingQueues (the workflow takes no argument: no payload). */
export function prefixOfWorkflowQueue(workflowQueue: string): string {
  if (!workflowQueue.endsWith(WORKFLOW_SUFFIX))
    throw new Error(`${workflowQueue} is not a ceiling workflow queue (…${WORKFLOW_SUFFIX})`);
  return workflowQueue.slice(0, -WORKFLOW_SUFFIX.length);
}
