import { createHash, randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { OrderRequest } from '../shared/order';
import type { SagaSettings } from '../shared/saga-settings';
import { FINAL_SAGA_STATUSES, type SagaState, type SagaStatus } from '../shared/saga-state';
import { customerIdKey, orderIdKey, sagaStatusKey } from '../shared/search-attributes';
import type { OrderSagaInput } from '../workflows/order-saga';
import { markResolvedUpdate, resumeCompensationUpdate, sagaStateQuery } from '../workflows/saga/messages';
import { HttpProblem } from './problem';
import type { ListSagasQuery, SagaSummary, SagaView } from './schemas';
import { buildListQuery } from './visibility-query';

const WORKFLOW_TYPE = 'orderSaga';

export interface SagaServiceOptions {
  client: Client;
  namespace: string;
  orchestratorTaskQueue: string;
  settings: SagaSettings;
  webUiUrl: string;
  /** Base of the API's own links, e.g. "" for relative links or "http://host:3000". */
  apiBase: string;
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

  async start(order: OrderRequest, idempotency?: { scope: string; key: string }): Promise<StartResult> {
    const requestHash = hashOf(order);
    const sagaId = idempotency
      ? idempotentSagaId(idempotency.scope, idempotency.key)
      : `order-${randomUUID()}`;
    const orderId = `ord_${randomUUID()}`;
    const input: OrderSagaInput = { orderId, order, settings: this.options.settings };
    try {
      const handle = await this.client.workflow.start(WORKFLOW_TYPE, {
        workflowId: sagaId,
        taskQueue: this.options.orchestratorTaskQueue,
        args: [input],
        memo: { requestHash },
        typedSearchAttributes: [
          { key: sagaStatusKey, value: 'RUNNING' },
          { key: orderIdKey, value: orderId },
          { key: customerIdKey, value: order.customerId },
        ],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return { sagaId, orderId, runId: handle.firstExecutionRunId, created: true };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError) || !idempotency) throw error;
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

  async get(sagaId: string): Promise<SagaView> {
    const handle = this.client.workflow.getHandle(sagaId);
    const description = await this.describe(sagaId);
    let state: SagaState | undefined;
    try {
      state = await handle.query(sagaStateQuery);
    } catch {
      // No orchestrator is up to answer the query: fall back to what visibility knows.
      state = undefined;
    }
    let result: Record<string, unknown> | undefined;
    if (state && FINAL_SAGA_STATUSES.includes(state.status)) {
      result = (
        (await handle.result().catch(() => undefined)) as { data?: Record<string, unknown> } | undefined
      )?.data;
    }
    const summary = this.summarize(description);
    return {
      ...summary,
      status: state?.status ?? summary.status ?? 'RUNNING',
      startedAt: state?.startedAt ?? summary.startedAt,
      endedAt: state?.endedAt ?? summary.endedAt,
      failure: state?.failure,
      parkedReason: state?.parkedReason,
      resolution: state?.resolution,
      compensationMode: state?.compensationMode,
      steps: state?.steps ?? [],
      compensations: state?.compensations ?? [],
      result,
    };
  }

  async list(query: ListSagasQuery): Promise<{ sagas: SagaSummary[]; nextCursor?: string }> {
    const { client } = this;
    const response = await client.workflowService.listWorkflowExecutions({
      namespace: this.options.namespace,
      query: buildListQuery(WORKFLOW_TYPE, query),
      pageSize: query.pageSize,
      nextPageToken: query.cursor ? Buffer.from(query.cursor, 'base64url') : undefined,
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

  async cancel(sagaId: string): Promise<SagaStatus> {
    const view = await this.get(sagaId);
    if (view.temporalStatus !== 'RUNNING' || view.status !== 'RUNNING') {
      throw new HttpProblem(
        409,
        'not-cancellable',
        `saga is ${view.status}; only a RUNNING saga can be cancelled`,
      );
    }
    await this.client.workflow.getHandle(sagaId).cancel();
    return 'COMPENSATING';
  }

  async resume(sagaId: string): Promise<SagaStatus> {
    return this.operatorAction(sagaId, (handle) => handle.executeUpdate(resumeCompensationUpdate));
  }

  async resolve(sagaId: string, note: string): Promise<SagaStatus> {
    return this.operatorAction(sagaId, (handle) =>
      handle.executeUpdate(markResolvedUpdate, { args: [{ note }] }),
    );
  }

  webUiLink(sagaId: string, runId?: string): string {
    const base = `${this.options.webUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(this.options.namespace)}/workflows/${encodeURIComponent(sagaId)}`;
    return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
  }

  private async operatorAction(
    sagaId: string,
    act: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<{ status: SagaStatus }>,
  ): Promise<SagaStatus> {
    const description = await this.describe(sagaId);
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

  private async describe(sagaId: string): Promise<WorkflowExecutionDescription> {
    try {
      const description = await this.client.workflow.getHandle(sagaId).describe();
      if (description.type !== WORKFLOW_TYPE)
        throw new WorkflowNotFoundError('not a saga', sagaId, undefined);
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
      orderId: attributes.get(orderIdKey),
      customerId: attributes.get(customerIdKey),
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
