import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { median, round } from './stats';

const EventType = temporal.api.enums.v1.EventType;

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;

export type Breakdown = Record<
  'total' | 'workflowTaskQueue' | 'workflowTaskRun' | 'activityQueue' | 'activityRun' | 'other',
  number
> & {
  /** How many workflow tasks and activities a workflow ran (medians): the run time per task compares
   * workers whose workflows take different numbers of steps. Absent from results before 2026-12-07 18:30. */
  workflowTasks?: number;
  activities?: number;
};

/**
 * Where a workflow's time goes, from its history: waiting for a worker to pick up workflow and activity
 * tasks (Temporal's dispatch), running workflow tasks (engine), running activities (service code and its
 * database), the rest (between one task's end and the next one's scheduling: Temporal persisting the
 * result), and the total, first event to last. Medians over the workflows, each component on its own,
 * with how many workflow tasks and activities each ran.
 */
export async function timeBreakdown(client: Client, workflowIds: readonly string[]): Promise<Breakdown> {
  const stages = {
    total: [] as number[],
    workflowTaskQueue: [] as number[],
    workflowTaskRun: [] as number[],
    activityQueue: [] as number[],
    activityRun: [] as number[],
    other: [] as number[],
    workflowTasks: [] as number[],
    activities: [] as number[],
  };
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    const at = new Map<number, number>(events.map((e) => [Number(e.eventId), ms(e.eventTime)]));
    let wtQueue = 0;
    let wtRun = 0;
    let actQueue = 0;
    let actRun = 0;
    let workflowTasks = 0;
    let activities = 0;
    for (const e of events) {
      const time = ms(e.eventTime);
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        wtQueue += time - (at.get(Number(e.workflowTaskStartedEventAttributes?.scheduledEventId)) ?? time);
      } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
        workflowTasks += 1;
        wtRun += time - (at.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId)) ?? time);
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        actQueue += time - (at.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? time);
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        activities += 1;
        actRun += time - (at.get(Number(e.activityTaskCompletedEventAttributes?.startedEventId)) ?? time);
      }
    }
    const total = ms(events[events.length - 1]?.eventTime) - ms(events[0]?.eventTime);
    stages.total.push(total);
    stages.other.push(total - wtQueue - wtRun - actQueue - actRun);
    stages.workflowTaskQueue.push(wtQueue);
    stages.workflowTaskRun.push(wtRun);
    stages.activityQueue.push(actQueue);
    stages.activityRun.push(actRun);
    stages.workflowTasks.push(workflowTasks);
    stages.activities.push(activities);
  }
  return Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(median(v))])) as Breakdown;
}
