import { temporal } from '@temporalio/proto';
import { taskTimes, type TimedEvent } from '../../bench/breakdown';

const EventType = temporal.api.enums.v1.EventType;
const at = (msSinceStart: number) => ({
  seconds: 1_000 + Math.floor(msSinceStart / 1000),
  nanos: (msSinceStart % 1000) * 1e6,
});

/** One workflow task's three events, ids from `firstId`, at the given milliseconds. */
function workflowTask(firstId: number, scheduled: number, started: number, completed: number): TimedEvent[] {
  return [
    { eventId: firstId, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, eventTime: at(scheduled) },
    {
      eventId: firstId + 1,
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      eventTime: at(started),
      workflowTaskStartedEventAttributes: { scheduledEventId: firstId },
    },
    {
      eventId: firstId + 2,
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
      eventTime: at(completed),
      workflowTaskCompletedEventAttributes: { startedEventId: firstId + 1 },
    },
  ];
}

describe('task times from a history', () => {
  it('gives each task its wait (scheduled → started) and run (started → completed), in order', () => {
    const events: TimedEvent[] = [
      { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, eventTime: at(0) },
      ...workflowTask(2, 0, 4, 16),
      { eventId: 5, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, eventTime: at(16) },
      {
        eventId: 6,
        eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        eventTime: at(18),
        activityTaskStartedEventAttributes: { scheduledEventId: 5 },
      },
      {
        eventId: 7,
        eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        eventTime: at(999),
        activityTaskCompletedEventAttributes: { startedEventId: 6 },
      },
      ...workflowTask(8, 999, 1001, 1008),
      { eventId: 11, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, eventTime: at(1008) },
    ];
    expect(taskTimes(events).workflow).toEqual({ wait: [4, 2], run: [12, 7] });
    expect(taskTimes(events).activity).toEqual({ wait: [2], run: [981] });
  });

  it('has no tasks for a history without workflow tasks', () => {
    const started = {
      eventId: 1,
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      eventTime: at(0),
    };
    expect(taskTimes([started]).workflow).toEqual({ wait: [], run: [] });
  });
});
