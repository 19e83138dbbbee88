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
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    const { workflow, activity } = taskTimes(events);
    const total = ms(events[events.length - 1]?.eventTime) - ms(events[0]?.eventTime);
    const parts = {
      workflowTaskQueue: sum(workflow.wait),
      workflowTaskRun: sum(workflow.run),
      activityQueue: sum(activity.wait),
      activityRun: sum(activity.run),
    };
    stages.total.push(total);
    stages.other.push(total - sum(Object.values(parts)));
    stages.workflowTaskQueue.push(parts.workflowTaskQueue);
    stages.workflowTaskRun.push(parts.workflowTaskRun);
    stages.activityQueue.push(parts.activityQueue);
    stages.activityRun.push(parts.activityRun);
    stages.workflowTasks.push(workflow.run.length);
    stages.activities.push(activity.run.length);
  }
  return Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(median(v))])) as Breakdown;
}

/** What taskTimes reads of a history event (a proto event has these, with Long ids). */
export interface TimedEvent {
  eventId?: unknown;
  eventType?: number | null;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskCompletedEventAttributes?: { startedEventId?: unknown } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskCompletedEventAttributes?: { startedEventId?: unknown } | null;
}

/** How long each task waited for a worker (scheduled → started) and ran (started → completed), in order. */
export interface TaskTimes {
  wait: number[];
  run: number[];
}

/**
 * Each workflow task and each activity of one history, in order, as Temporal recorded them. A workflow's
 * first task carries its start (markers, handlers, module loading), the last its completion, the ones
 * between one activity result each.
 */
export function taskTimes(events: readonly TimedEvent[]): { workflow: TaskTimes; activity: TaskTimes } {
  const at = new Map<number, number>(events.map((e) => [Number(e.eventId), ms(e.eventTime)]));
  const since = (id: unknown, end: number) => end - (at.get(Number(id)) ?? end);
  const workflow: TaskTimes = { wait: [], run: [] };
  const activity: TaskTimes = { wait: [], run: [] };
  for (const e of events) {
    const time = ms(e.eventTime);
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      workflow.wait.push(since(e.workflowTaskStartedEventAttributes?.scheduledEventId, time));
    } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      workflow.run.push(since(e.workflowTaskCompletedEventAttributes?.startedEventId, time));
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      activity.wait.push(since(e.activityTaskStartedEventAttributes?.scheduledEventId, time));
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      activity.run.push(since(e.activityTaskCompletedEventAttributes?.startedEventId, time));
    }
  }
  return { workflow, activity };
}

/** Median wait and run time of each workflow task by its position, over workflows of one kind. */
export async function workflowTaskTimesByIndex(
  client: Client,
  workflowIds: readonly string[],
): Promise<TaskTimes> {
  const waits: number[][] = [];
  const runs: number[][] = [];
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const { workflow } = taskTimes(history.events ?? []);
    workflow.wait.forEach((t, i) => (waits[i] ??= []).push(t));
    workflow.run.forEach((t, i) => (runs[i] ??= []).push(t));
  }
  const medians = (byIndex: number[][]) => byIndex.map((values) => round(median(values), 1));
  return { wait: medians(waits), run: medians(runs) };
}
