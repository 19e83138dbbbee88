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
    const tasks = workflowTaskTimes(events);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const wtQueue = sum(tasks.wait);
    const wtRun = sum(tasks.run);
    const workflowTasks = tasks.run.length;
    let actQueue = 0;
    let actRun = 0;
    let activities = 0;
    for (const e of events) {
      const time = ms(e.eventTime);
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
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

/** What workflowTaskTimes reads of a history event (a proto event has these, with Long ids). */
export interface TimedEvent {
  eventId?: unknown;
  eventType?: number | null;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskCompletedEventAttributes?: { startedEventId?: unknown } | null;
}

/**
 * Each workflow task of one history, in order, as Temporal recorded it: how long it waited for a worker
 * (scheduled → started) and how long it ran (started → completed). The first task carries the workflow's
 * start (markers, handlers, module loading), the last its completion, the ones between one activity
 * result each.
 */
export function workflowTaskTimes(events: readonly TimedEvent[]): { wait: number[]; run: number[] } {
  const at = new Map<number, number>(events.map((e) => [Number(e.eventId), ms(e.eventTime)]));
  const since = (id: unknown, end: number) => end - (at.get(Number(id)) ?? end);
  const wait: number[] = [];
  const run: number[] = [];
  for (const e of events) {
    const time = ms(e.eventTime);
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      wait.push(since(e.workflowTaskStartedEventAttributes?.scheduledEventId, time));
    } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      run.push(since(e.workflowTaskCompletedEventAttributes?.startedEventId, time));
    }
  }
  return { wait, run };
}

/** Median wait and run time of each workflow task by its position, over workflows of one kind. */
export async function workflowTaskTimesByIndex(
  client: Client,
  workflowIds: readonly string[],
): Promise<{ wait: number[]; run: number[] }> {
  const waits: number[][] = [];
  const runs: number[][] = [];
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const times = workflowTaskTimes(history.events ?? []);
    times.wait.forEach((t, i) => (waits[i] ??= []).push(t));
    times.run.forEach((t, i) => (runs[i] ??= []).push(t));
  }
  const medians = (byIndex: number[][]) => byIndex.map((values) => round(median(values), 1));
  return { wait: medians(waits), run: medians(runs) };
}
