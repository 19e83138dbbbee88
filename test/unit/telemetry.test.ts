import { sdkLogFields } from '../../shared/temporal-runtime';
import type { ReceivedSpan } from '../../tools/traces/otlp-receiver';
import { renderTrace, traceOfSaga } from '../../tools/traces/tree';

describe('SDK log fields', () => {
  test('an activity line names the saga, the run and the trace, and drops the task token', () => {
    const fields = sdkLogFields({
      workflowId: 'order-1',
      workflowRunId: 'run-1',
      activityType: 'createOrder',
      taskToken: 'secret-token',
      trace_id: 'abc',
      span_id: 'def',
      trace_flags: '01',
    });
    expect(fields).toEqual({
      sdk: true,
      sagaId: 'order-1',
      workflowId: 'order-1',
      runId: 'run-1',
      activityType: 'createOrder',
      traceId: 'abc',
      spanId: 'def',
    });
  });

  test('a line about no saga gets no saga id', () => {
    expect(sdkLogFields({ taskQueue: 'q' })).toEqual({ sdk: true, taskQueue: 'q' });
  });
});

describe('trace rendering', () => {
  const span = (spanId: string, name: string, parentSpanId?: string, traceId = 't1'): ReceivedSpan => ({
    service: 'svc',
    traceId,
    spanId,
    parentSpanId,
    name,
    attributes: name === 'POST /sagas' ? { 'saga.id': 'order-1' } : {},
  });
  const spans = [
    span('a', 'POST /sagas'),
    span('b', 'StartWorkflow:orderSaga', 'a'),
    span('c', 'RunActivity:createOrder', 'b'),
    span('x', 'POST /sagas', undefined, 't2'),
  ];

  test('finds the trace of a saga by the API span that started it', () => {
    expect(traceOfSaga(spans, 'order-1').map((s) => s.spanId)).toEqual(['a', 'b', 'c']);
    expect(traceOfSaga(spans, 'order-2')).toEqual([]);
  });

  test('indents each span under its parent', () => {
    expect(renderTrace(traceOfSaga(spans, 'order-1'))).toBe(
      'POST /sagas  [svc]\n  StartWorkflow:orderSaga  [svc]\n    RunActivity:createOrder  [svc]\n',
    );
  });
});
