import { temporal } from '@temporalio/proto';
import { workflowTaskTimes, type TimedEvent } from '../../bench/breakdown';

const EventType = temporal.api.enums.v1.EventType;
const at = (msSinceStart: number) => ({
  seconds: 1_000 + Math.floor(msSinceStart / 1000),
  nanos: (msSinceStart % 1000) * 1e6,
});

describe('workflow task run times from a history', () => {
  it('gives each task its wait (scheduled → started) and run (started → completed), in order', () => {
    const events: TimedEvent[] = [
      { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, eventTime: at(0) },
      { eventId: 2, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, eventTime: at(0) },
      {
        eventId: 3,
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        eventTime: at(4),
        workflowTaskStartedEventAttributes: { scheduledEventId: 2 },
      },
      {
        eventId: 4,
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        eventTime: at(16),
        workflowTaskCompletedEventAttributes: { startedEventId: 3 },
      },
      { eventId: 5, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, eventTime: at(16) },
      { eventId: 6, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, eventTime: at(18) },
      { eventId: 7, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, eventTime: at(999) },
      { eventId: 8, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, eventTime: at(999) },
      {
        eventId: 9,
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        eventTime: at(1001),
        workflowTaskStartedEventAttributes: { scheduledEventId: 8 },
      },
      {
        eventId: 10,
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        eventTime: at(1008),
        workflowTaskCompletedEventAttributes: { startedEventId: 9 },
      },
      { eventId: 11, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, eventTime: at(1008) },
    ];
    expect(workflowTaskTimes(events)).toEqual({ wait: [4, 2], run: [12, 7] });
  });

  it('has no tasks for a history without completed workflow tasks', () => {
    expect(
      workflowTaskTimes([
        { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, eventTime: at(0) },
      ]),
    ).toEqual({ wait: [], run: [] });
  });
});
