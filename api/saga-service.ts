import { createHash, randomUUID } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import {
  decodeArrayFromPayloads,
  decodeOptionalFailureToOptionalError,
} from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { OrderRequest } from '../shared/order';
import type { SagaSettings } from '../shared/saga-settings';
import {
  FINAL_SAGA_STATUSES,
  type RetryProgress,
  type SagaOutcome,
  type SagaState,
  type SagaStatus,
} from '../shared/saga-state';
import { customerIdKey, orderIdKey, sagaStatusKey, startedByKey } from '../shared/search-attributes';
import type { OrderSagaInput } from '../workflows/order-saga';
import type { RefundSagaWorkflowInput } from '../workflows/refund-saga';
import type { readStock } from '../workflows/stock';
import type { StockLevel } from '../activities/inventory/activities';
import { describeFailure } from '../workflows/saga/errors';
import {
  cancelSagaUpdate,
  FINAL_OUTCOME_MEMO,
  markResolvedUpdate,
  resumeCompensationUpdate,
  sagaStateQuery,
} from '../workflows/saga/messages';
import { grpcCodeOf } from './grpc-status';
import { HttpProblem } from './problem';
import type { ListSagasQuery, SagaName, SagaSummary, SagaView } from './schemas';
import { buildListQuery } from './visibility-query';

/** The workflow type of each saga the API starts. */
const WORKFLOW_TYPES: Record<SagaName, string> = { order: 'orderSaga', refund: 'refundSaga' };
const { HistoryEventFilterType } = temporal.api.enums.v1;
const SAGA_OF_TYPE = new Map(Object.entries(WORKFLOW_TYPES).map(([saga, type]) => [type, saga as SagaName]));
/** How long a cancel waits for the orchestrator to decide it before answering 503. */
const CANCEL_DECISION_SECONDS = 10;
/** How long a stock read may take, queueing included, before the API answers 503. */
const STOCK_READ_TIMEOUT = '10s';
/** How long a list with a cursor may take before the cursor is checked (a foreign one fails slowly). */
const CURSOR_DEADLINE_MS = 5000;

export interface SagaServiceOptions {
  client: Client;
  namespace: string;
  orchestratorTaskQueue: string;
  settings: SagaSettings;
  webUiUrl: string;
  /** Base of the API's own links, e.g. "" for relative links or "http://host:3000". */
  apiBase: string;
}

/**
 * Who asks, as the saga service sees it: the principal id, and whether it may act on every saga
 * (sagas:operate). Anyone else sees, lists and cancels only the sagas it started (StartedBy).
 */
export interface Caller {
  id: string;
  operator: boolean;
}

export interface StartResult {
  sagaId: string;
  orderId: string;
  /** The run the start created (or found): logged with the saga id. */
  runId: string;
  /** false when an Idempotency-Key found the saga an earlier request started. */
  created: boolean;
}

/** The API's only gateway to sagas: everything goes through Temporal, never to a service database. */
export class SagaService {
  constructor(private readonly options: SagaServiceOptions) {}

  private get client(): Client {
    return this.options.client;
  }

  /** Starts an order saga recorded as `caller`'s; an Idempotency-Key is scoped by the caller's id. */
  async start(order: OrderRequest, caller: Caller, idempotencyKey?: string): Promise<StartResult> {
    const requestHash = hashOf(order);
    const sagaId = idempotencyKey ? idempotentSagaId(caller.id, idempotencyKey) : `order-${randomUUID()}`;
    const orderId = `ord_${randomUUID()}`;
    const input: OrderSagaInput = { orderId, order, settings: this.options.settings };
    try {
      const handle = await this.client.workflow.start(WORKFLOW_TYPES.order, {
        workflowId: sagaId,
        taskQueue: this.options.orchestratorTaskQueue,
        args: [input],
        memo: { requestHash },
        typedSearchAttributes: [
          { key: sagaStatusKey, value: 'RUNNING' },
          { key: orderIdKey, value: orderId },
          { key: customerIdKey, value: order.customerId },
          { key: startedByKey, value: caller.id },
        ],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return { sagaId, orderId, runId: handle.firstExecutionRunId, created: true };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError) || !idempotencyKey) throw error;
      const existing = await this.client.workflow.getHandle(sagaId).describe();
      if (existing.memo?.requestHash !== requestHash) {
        throw new HttpProblem(
          422,
          'idempotency-key-reused',
          'this Idempotency-Key was already used with a different request body',
        );
      }
      return {
        sagaId,
        orderId: String(existing.typedSearchAttributes.get(orderIdKey) ?? ''),
        runId: existing.runId,
        created: false,
      };
    }
  }

  /**
   * Starts the refund of an order, once: the saga id is the order's, so a second request finds the first
   * refund (running or ended) instead of starting another. Whether the order can be refunded is for the
   * orders service to say: the saga's first step asks it, and the saga compensates if it cannot.
   */
  async startRefund(orderId: string, caller: Caller): Promise<StartResult> {
    const sagaId = refundSagaIdOf(orderId);
    // Only the order's own starter (or an operator) refunds it; anyone else cannot tell it exists.
    if (!caller.operator && !(await this.startedOrder(orderId, caller))) {
      throw new HttpProblem(404, 'order-not-found', `no order ${orderId} started by this caller`);
    }
    const input: RefundSagaWorkflowInput = { orderId, settings: this.options.settings };
    try {
      const handle = await this.client.workflow.start(WORKFLOW_TYPES.refund, {
        workflowId: sagaId,
        taskQueue: this.options.orchestratorTaskQueue,
        args: [input],
        // CustomerId is set by the saga once the order names its customer.
        typedSearchAttributes: [
          { key: sagaStatusKey, value: 'RUNNING' },
          { key: orderIdKey, value: orderId },
          { key: startedByKey, value: caller.id },
        ],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return { sagaId, orderId, runId: handle.firstExecutionRunId, created: true };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const existing = await this.client.workflow.getHandle(sagaId).describe();
      if (!this.sees(caller, existing)) {
        throw new HttpProblem(
          409,
          'refund-exists',
          `the refund of order ${orderId} was already started by someone else (an operator)`,
        );
      }
      return { sagaId, orderId, runId: existing.runId, created: false };
    }
  }

  /** Whether `caller` started the order saga of this order (visibility: seconds behind at worst). */
  async startedOrder(orderId: string, caller: Caller): Promise<boolean> {
    const { count } = await this.client.workflow.count(
      buildListQuery(WORKFLOW_TYPES.order, { orderId, pageSize: 1 }, caller.id),
    );
    return count > 0;
  }

  /**
   * Running sagas of this deployment (its orchestrator's task queue) parked in COMPENSATION_FAILED, per
   * saga: the saga_parked gauge. Visibility lags the workflow by about a second.
   */
  async countParked(): Promise<Record<SagaName, number>> {
    const entries = await Promise.all(
      Object.entries(WORKFLOW_TYPES).map(async ([saga, type]) => {
        const { count } = await this.client.workflow.count(
          `WorkflowType = '${type}' AND TaskQueue = '${this.options.orchestratorTaskQueue}' AND ` +
            `ExecutionStatus = 'Running' AND SagaStatus = 'COMPENSATION_FAILED'`,
        );
        return [saga, count] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<SagaName, number>;
  }

  /** Whether `caller` may see this saga: an operator any, anyone else those it started. */
  private sees(caller: Caller, info: Pick<WorkflowExecutionInfo, 'typedSearchAttributes'>): boolean {
    return caller.operator || info.typedSearchAttributes.get(startedByKey) === caller.id;
  }

  /**
   * The stock of one SKU, asked of the inventory service through a short workflow (the API reaches no
   * service database). Null when the SKU is not stocked; 503 when the inventory does not answer in time.
   */
  async readStock(sku: string): Promise<StockLevel | null> {
    const { taskQueuePrefix } = this.options.settings;
    if (taskQueuePrefix === undefined) throw new Error('the saga settings name no task queue prefix');
    try {
      const levels = await this.client.workflow.execute<typeof readStock>('readStock', {
        workflowId: `stock-read-${randomUUID()}`,
        taskQueue: this.options.orchestratorTaskQueue,
        args: [{ skus: [sku], taskQueuePrefix }],
        workflowExecutionTimeout: STOCK_READ_TIMEOUT,
      });
      return levels[0] ?? null;
    } catch (error) {
      if (error instanceof WorkflowFailedError) {
        throw new HttpProblem(
          503,
          'inventory-unavailable',
          'the inventory service did not answer; retry later',
        );
      }
      throw error;
    }
  }

  /** Waits up to `seconds` for the saga to reach a final state; returns whether it did. */
  async waitForFinal(sagaId: string, seconds: number): Promise<boolean> {
    const handle = this.client.workflow.getHandle(sagaId);
    try {
      await this.client.withAbortSignal(AbortSignal.timeout(seconds * 1000), () => handle.result());
      return true;
    } catch {
      // Timed out (still running, perhaps parked for an operator) or failed: the caller shows the state.
      return false;
    }
  }

  async get(sagaId: string, caller: Caller): Promise<SagaView> {
    const handle = this.client.workflow.getHandle(sagaId);
    const description = await this.describe(sagaId, caller);
    // A finished saga left its outcome in a memo: describe alone answers. Sagas that ended before the memo
    // have it in their result, read from the close event (not waited for: on a running saga that read
    // would hold until the close).
    const outcome =
      (description.memo?.[FINAL_OUTCOME_MEMO] as SagaOutcome | undefined) ??
      (description.status.name === 'RUNNING'
        ? undefined
        : await this.outcomeOf(sagaId).catch(() => undefined));
    let state: SagaState | undefined = outcome?.state;
    if (!state) {
      try {
        // Running (or ended before results carried the state): ask the saga; on a closed workflow
        // this replays its history in an orchestrator.
        state = await handle.query(sagaStateQuery);
      } catch {
        // No orchestrator is up to answer the query: fall back to what visibility knows.
        state = undefined;
      }
    }
    let result: Record<string, unknown> | undefined = outcome?.data;
    if (!outcome && state && FINAL_SAGA_STATUSES.includes(state.status)) {
      result = (
        (await handle.result().catch(() => undefined)) as { data?: Record<string, unknown> } | undefined
      )?.data;
    }
    const summary = this.summarize(description);
    const retrying = await this.retryProgress(description);
    const live = <R extends RetryProgress>(record: R, activityId: (id: string) => boolean): R => {
      const found = [...retrying.entries()].find(([id]) => activityId(id));
      return found ? { ...record, ...found[1] } : record;
    };
    return {
      ...summary,
      status: state?.status ?? summary.status ?? 'RUNNING',
      startedAt: state?.startedAt ?? summary.startedAt,
      endedAt: state?.endedAt ?? summary.endedAt,
      failure: state?.failure,
      parkedReason: state?.parkedReason,
      resolution: state?.resolution,
      ...(state?.audit ? { audit: state.audit } : {}),
      compensationMode: state?.compensationMode,
      ...(state ? { sagaName: state.sagaName } : {}),
      ...(state?.sagaVersion === undefined ? {} : { sagaVersion: state.sagaVersion }),
      ...(state?.cancelRequestedAt ? { cancelRequestedAt: state.cancelRequestedAt } : {}),
      steps: (state?.steps ?? []).map((step) =>
        step.status === 'RUNNING'
          ? live(step, (id) => id === `step/${step.name}` || id.startsWith(`step/${step.name}/`))
          : step,
      ),
      compensations: (state?.compensations ?? []).map((c) =>
        c.status === 'RUNNING' ? live(c, (id) => id.startsWith(`compensate/${c.step}/`)) : c,
      ),
      result,
    };
  }

  async list(query: ListSagasQuery, caller: Caller): Promise<{ sagas: SagaSummary[]; nextCursor?: string }> {
    const { client } = this;
    const request = {
      namespace: this.options.namespace,
      query: buildListQuery(
        query.sagaName ? [WORKFLOW_TYPES[query.sagaName]] : Object.values(WORKFLOW_TYPES),
        query,
        caller.operator ? undefined : caller.id,
      ),
      pageSize: query.pageSize,
    };
    const list = () =>
      client.workflowService.listWorkflowExecutions({
        ...request,
        nextPageToken: query.cursor ? Buffer.from(query.cursor, 'base64url') : undefined,
      });
    // Temporal fails a foreign page token with a retryable internal error: bound the retries.
    const response = await (
      query.cursor ? client.connection.withDeadline(Date.now() + CURSOR_DEADLINE_MS, list) : list()
    ).catch(async (error: unknown) => {
      // Temporal answers a page token it did not issue (forged, stale, or of another query) with an
      // internal error; the same list without it working shows the cursor was the caller's mistake.
      if (!query.cursor || grpcCodeOf(error) === undefined) throw error;
      const withoutCursor = await client.workflowService
        .listWorkflowExecutions({ ...request, pageSize: 1 })
        .then(
          () => true,
          () => false,
        );
      if (!withoutCursor) throw error;
      throw new HttpProblem(
        400,
        'invalid-cursor',
        'query.cursor: not a cursor of this list; start again without it',
        [{ field: 'query.cursor', rule: 'invalid_cursor', message: 'not a cursor returned by this list' }],
      );
    });
    const infos = await Promise.all(
      response.executions.map((raw) =>
        executionInfoFromRaw(raw, client.options.loadedDataConverter, raw, this.options.namespace),
      ),
    );
    const token = response.nextPageToken;
    return {
      sagas: infos.map((info) => this.summarize(info)),
      ...(token && token.length > 0 ? { nextCursor: Buffer.from(token).toString('base64url') } : {}),
    };
  }

  /**
   * Asks the saga itself: it accepts a cancel only while it runs forward, so the answer is what will
   * happen (COMPENSATING), or a 409 with what the saga is doing instead.
   */
  async cancel(sagaId: string, caller: Caller): Promise<SagaStatus> {
    const description = await this.describe(sagaId, caller);
    if (description.status.name !== 'RUNNING') throw this.ended(description);
    const handle = this.client.workflow.getHandle(sagaId);
    try {
      const { status } = await this.client.withAbortSignal(
        AbortSignal.timeout(CANCEL_DECISION_SECONDS * 1000),
        () => handle.executeUpdate(cancelSagaUpdate, { args: [{ by: caller.id }] }),
      );
      return status;
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        throw new HttpProblem(409, 'not-cancellable', error.cause?.message ?? 'the saga refused the cancel');
      }
      const now = await this.describe(sagaId, caller).catch(() => undefined);
      if (now && now.status.name !== 'RUNNING') throw this.ended(now);
      if (grpcCodeOf(error) === grpcStatus.CANCELLED) {
        throw new HttpProblem(
          503,
          'orchestrator-unavailable',
          `the saga did not decide the cancel within ${CANCEL_DECISION_SECONDS} s (no orchestrator running?); it may still apply it: GET the saga before retrying`,
        );
      }
      throw error;
    }
  }

  private ended(description: WorkflowExecutionDescription): HttpProblem {
    const status = this.summarize(description).status ?? description.status.name;
    return new HttpProblem(409, 'not-cancellable', `saga has ended (${status}); there is nothing to cancel`);
  }

  /** Operator actions (the route requires sagas:operate); `by` is recorded in the saga's audit. */
  async resume(sagaId: string, by: Caller): Promise<SagaStatus> {
    return this.operatorAction(sagaId, by, (handle) =>
      handle.executeUpdate(resumeCompensationUpdate, { args: [{ by: by.id }] }),
    );
  }

  async resolve(sagaId: string, note: string, by: Caller): Promise<SagaStatus> {
    return this.operatorAction(sagaId, by, (handle) =>
      handle.executeUpdate(markResolvedUpdate, { args: [{ note, by: by.id }] }),
    );
  }

  webUiLink(sagaId: string, runId?: string): string {
    const base = `${this.options.webUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(this.options.namespace)}/workflows/${encodeURIComponent(sagaId)}`;
    return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
  }

  private async operatorAction(
    sagaId: string,
    caller: Caller,
    act: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<{ status: SagaStatus }>,
  ): Promise<SagaStatus> {
    const description = await this.describe(sagaId, caller);
    if (description.status.name !== 'RUNNING') {
      throw new HttpProblem(
        409,
        'not-parked',
        `saga has ended (${this.summarize(description).status ?? description.status.name}); only a saga in COMPENSATION_FAILED accepts operator actions`,
      );
    }
    try {
      return (await act(this.client.workflow.getHandle(sagaId))).status;
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        throw new HttpProblem(409, 'not-parked', error.cause?.message ?? 'the saga refused the action');
      }
      throw error;
    }
  }

  /** What Temporal knows of the calls it is retrying (the workflow does not see retries), by activity id. */
  /**
   * The outcome in a completed workflow's result: its close event alone. Only for a closed workflow: on a
   * running one the server holds this read until the close (20 s measured). Undefined when it ended otherwise.
   */
  private async outcomeOf(sagaId: string): Promise<SagaOutcome | undefined> {
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.options.namespace,
      execution: { workflowId: sagaId },
      historyEventFilterType: HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
      waitNewEvent: false,
      skipArchival: true,
    });
    const payloads = history?.events?.[0]?.workflowExecutionCompletedEventAttributes?.result?.payloads;
    if (!payloads) return undefined;
    const [outcome] = await decodeArrayFromPayloads(this.client.options.loadedDataConverter, payloads);
    return outcome as SagaOutcome | undefined;
  }

  private async retryProgress(
    description: WorkflowExecutionDescription,
  ): Promise<Map<string, RetryProgress>> {
    const pending = description.raw.pendingActivities ?? [];
    const converter = this.client.options.loadedDataConverter;
    const entries = await Promise.all(
      pending.map(async (activity): Promise<[string, RetryProgress]> => {
        const failure = await decodeOptionalFailureToOptionalError(
          converter,
          activity.lastFailure as temporal.api.failure.v1.IFailure | undefined,
        ).catch(() => undefined);
        const next = optionalTsToDate(activity.nextAttemptScheduleTime);
        const deadline = optionalTsToDate(activity.expirationTime);
        return [
          activity.activityId ?? '',
          {
            attempts: activity.attempt ?? 1,
            ...(failure ? { lastError: describeFailure(failure) } : {}),
            ...(next ? { nextRetryAt: next.toISOString() } : {}),
            ...(deadline && deadline.getTime() > 0 ? { deadlineAt: deadline.toISOString() } : {}),
          },
        ];
      }),
    );
    return new Map(entries);
  }

  /** The saga as Temporal knows it; 404 alike when there is none and when it is not the caller's. */
  private async describe(sagaId: string, caller: Caller): Promise<WorkflowExecutionDescription> {
    try {
      const description = await this.client.workflow.getHandle(sagaId).describe();
      if (!SAGA_OF_TYPE.has(description.type) || !this.sees(caller, description))
        throw new WorkflowNotFoundError('not a saga of this caller', sagaId, undefined);
      return description;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError)
        throw new HttpProblem(404, 'saga-not-found', `no saga with id ${sagaId}`);
      throw error;
    }
  }

  private summarize(info: Omit<WorkflowExecutionInfo, 'raw'>): SagaSummary {
    const attributes = info.typedSearchAttributes;
    const status = attributes.get(sagaStatusKey) as SagaStatus | undefined;
    return {
      sagaId: info.workflowId,
      sagaName: SAGA_OF_TYPE.get(info.type) ?? 'order',
      orderId: attributes.get(orderIdKey),
      customerId: attributes.get(customerIdKey),
      startedBy: attributes.get(startedByKey),
      status,
      temporalStatus: info.status.name,
      startedAt: info.startTime.toISOString(),
      endedAt: info.closeTime?.toISOString(),
      links: {
        self: `${this.options.apiBase}/sagas/${encodeURIComponent(info.workflowId)}`,
        webUi: this.webUiLink(info.workflowId, info.runId),
      },
    };
  }
}

/** The refund saga of an order: one per order. */
export function refundSagaIdOf(orderId: string): string {
  return `refund-${orderId}`;
}

/** The saga an Idempotency-Key of an API key (its scope) always names. */
export function idempotentSagaId(scope: string, key: string): string {
  return `order-${hashOf({ scope, key }).slice(0, 32)}`;
}

/** Stable hash of a JSON value: object keys sorted, so equal bodies hash equally whatever their key order. */
function hashOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
