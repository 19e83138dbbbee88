import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { median } from './stats';

const EventType = temporal.api.enums.v1.EventType;

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;

/**
 * Where a saga's time goes, from its workflow history: waiting for a worker to pick up workflow and
 * activity tasks (Temporal scheduling), running workflow tasks (engine), running activities (service code
 * and its database), and the total.
 */
export async function timeBreakdown(client: Client, workflowIds: string[]) {
  const stages = {
    total: [] as number[],
    workflowTaskQueue: [] as number[],
    workflowTaskRun: [] as number[],
    activityQueue: [] as number[],
    activityRun: [] as number[],
  };
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    const at = new Map<number, number>(events.map((e) => [Number(e.eventId), ms(e.eventTime)]));
    let wtQueue = 0;
    let wtRun = 0;
    let actQueue = 0;
    let actRun = 0;
    for (const e of events) {
      const time = ms(e.eventTime);
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        wtQueue += time - (at.get(Number(e.workflowTaskStartedEventAttributes?.scheduledEventId)) ?? time);
      } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
        wtRun += time - (at.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId)) ?? time);
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        actQueue += time - (at.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? time);
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        actRun += time - (at.get(Number(e.activityTaskCompletedEventAttributes?.startedEventId)) ?? time);
      }
    }
    stages.total.push(ms(events[events.length - 1]?.eventTime) - ms(events[0]?.eventTime));
    stages.workflowTaskQueue.push(wtQueue);
    stages.workflowTaskRun.push(wtRun);
    stages.activityQueue.push(actQueue);
    stages.activityRun.push(actRun);
  }
  return Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, median(v)])) as Record<
    keyof typeof stages,
    number
  >;
}
