import type { Response } from 'express';
import { FINAL_SAGA_STATUSES } from '../../shared/saga-state';
import type { Caller, SagaService, StartResult } from '../saga-service';
import type { StartSagaResponse } from '../schemas';

/**
 * The answer to a request that started a saga, or found the one an earlier request started: 202 with a
 * Location while it runs, 200 once it is final; waits up to `waitSeconds` for that first. A saga found
 * (not created) comes with its view, so a repeated request shows what the first one started.
 */
export async function sendStarted(
  res: Response,
  sagas: SagaService,
  started: StartResult,
  waitSeconds: number | undefined,
  caller: Caller,
): Promise<void> {
  res.locals.sagaId = started.sagaId;
  res.locals.runId = started.runId;
  const done = waitSeconds ? await sagas.waitForFinal(started.sagaId, waitSeconds) : false;
  const view =
    waitSeconds !== undefined || !started.created ? await sagas.get(started.sagaId, caller) : undefined;
  const final = view !== undefined && FINAL_SAGA_STATUSES.includes(view.status);
  const body: StartSagaResponse = {
    sagaId: started.sagaId,
    orderId: view?.orderId ?? started.orderId,
    status: view?.status ?? 'RUNNING',
    links: { self: `/sagas/${started.sagaId}`, webUi: sagas.webUiLink(started.sagaId) },
    ...(view ? { saga: view } : {}),
  };
  res
    .status(done || final ? 200 : 202)
    .location(`/sagas/${started.sagaId}`)
    .json(body);
}
