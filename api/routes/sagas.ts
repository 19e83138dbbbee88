import { Router, type Request } from 'express';
import type { Logger } from 'pino';
import { z } from '../../shared/zod';
import type { AuditedAction } from '../../shared/saga-state';
import { requireScope } from '../auth';
import { HttpProblem } from '../problem';
import { orderRequestSchema } from '../../shared/order';
import type { Caller, SagaService } from '../saga-service';
import {
  idempotencyKeySchema,
  listSagasQuerySchema,
  resolveRequestSchema,
  sagaIdSchema,
  startSagaQuerySchema,
} from '../schemas';
import { parse } from '../validate';
import { sendStarted } from './started';

const noQuery = z.strictObject({});
const sagaPath = z.strictObject({ sagaId: sagaIdSchema });

/** The caller as the saga service sees it; the routes run after authentication, so there is one. */
export function callerOf(req: Request): Caller {
  const principal = req.principal;
  if (!principal) throw new HttpProblem(401, 'unauthorized', 'authentication is required');
  return { id: principal.id, operator: principal.scopes.has('sagas:operate') };
}

/** Start, read, list, cancel and repair sagas. Every input is validated before Temporal is called. */
export function sagasRouter(sagas: SagaService, logger: Pick<Logger, 'info'>): Router {
  const router = Router();

  /** Runs a cancel, resume or resolve, and writes its one audit line: what, which saga, who, outcome. */
  const audited = async <T>(
    action: AuditedAction,
    sagaId: string,
    caller: Caller,
    run: () => Promise<T>,
  ): Promise<T> => {
    const line = { audit: action, sagaId, workflowId: sagaId, by: caller.id };
    try {
      const result = await run();
      logger.info({ ...line, outcome: 'accepted' }, `saga ${action} accepted`);
      return result;
    } catch (error) {
      const status = error instanceof HttpProblem ? error.status : 500;
      logger.info({ ...line, outcome: 'refused', httpStatus: status }, `saga ${action} refused`);
      throw error;
    }
  };

  router.post('/sagas', requireScope('sagas:start'), async (req, res) => {
    const { waitSeconds } = parse(startSagaQuerySchema, req.query, 'query');
    const keyHeader = req.get('idempotency-key');
    const key = keyHeader === undefined ? undefined : parse(idempotencyKeySchema, keyHeader, 'header');
    const order = parse(orderRequestSchema, req.body, 'body');
    const caller = callerOf(req);
    const started = await sagas.start(order, caller, key);
    await sendStarted(res, sagas, started, waitSeconds, caller);
  });

  router.get('/sagas', requireScope('sagas:read'), async (req, res) => {
    const query = parse(listSagasQuerySchema, req.query, 'query');
    res.json(await sagas.list(query, callerOf(req)));
  });

  router.get('/sagas/:sagaId', requireScope('sagas:read'), async (req, res) => {
    parse(noQuery, req.query, 'query');
    const { sagaId } = parse(sagaPath, req.params, 'path');
    res.locals.sagaId = sagaId;
    res.json(await sagas.get(sagaId, callerOf(req)));
  });

  router.post('/sagas/:sagaId/cancel', requireScope('sagas:cancel'), async (req, res) => {
    const { sagaId } = parse(sagaPath, req.params, 'path');
    res.locals.sagaId = sagaId;
    const caller = callerOf(req);
    const status = await audited('cancel', sagaId, caller, () => sagas.cancel(sagaId, caller));
    res.status(202).json({ sagaId, status });
  });

  router.post('/sagas/:sagaId/resume', requireScope('sagas:operate'), async (req, res) => {
    const { sagaId } = parse(sagaPath, req.params, 'path');
    res.locals.sagaId = sagaId;
    const caller = callerOf(req);
    const status = await audited('resume', sagaId, caller, () => sagas.resume(sagaId, caller));
    res.status(202).json({ sagaId, status });
  });

  router.post('/sagas/:sagaId/resolve', requireScope('sagas:operate'), async (req, res) => {
    const { sagaId } = parse(sagaPath, req.params, 'path');
    res.locals.sagaId = sagaId;
    const { note } = parse(resolveRequestSchema, req.body, 'body');
    const caller = callerOf(req);
    const status = await audited('resolve', sagaId, caller, () => sagas.resolve(sagaId, note, caller));
    res.json({ sagaId, status });
  });

  return router;
}
